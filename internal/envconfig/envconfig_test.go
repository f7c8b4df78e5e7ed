package envconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func lookup(env map[string]string) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestReadResilience(t *testing.T) {
	r, err := ReadResilience(lookup(map[string]string{
		RPS: "0.5", Burst: " 3 ", MaxRetries: "100", BreakerFailureThreshold: "1",
		BreakerCooldownSecs: "0.25", MaxInflight: "0", QueueTimeoutMS: "1500",
		BreakerMaxCooldownSecs: "120", BreakerFailureRate: "0.75", BreakerMinRequests: "40", BreakerWindowSecs: "12.5",
		TPM: "30000", RetryBudget: "-1",
	}))
	if err != nil {
		t.Fatalf("ReadResilience = %v; want nil error", err)
	}
	if *r.RPS != 0.5 || *r.Burst != 3 || *r.MaxRetries != 100 || *r.BreakerFailureThreshold != 1 ||
		*r.BreakerCooldown != 250*time.Millisecond || *r.MaxInflight != 0 || *r.QueueTimeout != 1500*time.Millisecond ||
		*r.BreakerMaxCooldown != 2*time.Minute || *r.BreakerFailureRate != 0.75 || *r.BreakerMinRequests != 40 ||
		*r.BreakerWindow != 12500*time.Millisecond || *r.TPM != 30000 || *r.RetryBudget != -1 {
		t.Errorf("ReadResilience = %+v; want every variable parsed", r)
	}
}

func TestReadResilienceUnset(t *testing.T) {
	r, err := ReadResilience(lookup(map[string]string{RPS: "", Burst: "\t"}))
	if err != nil || r != (Resilience{}) {
		t.Errorf("ReadResilience(empty values) = %+v, %v; want nothing set, nil", r, err)
	}
}

func TestReadResilienceErrors(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{RPS, "abc", `AI_LIB_RPS="abc": not a number`},
		{RPS, "-0.1", `AI_LIB_RPS="-0.1": out of range [0, 1e+06]`},
		{RPS, "NaN", `AI_LIB_RPS="NaN": out of range`},
		{RPS, "+Inf", `AI_LIB_RPS="+Inf": out of range`},
		{RPS, "1e400", `AI_LIB_RPS="1e400": out of range`},
		{Burst, "0", `AI_LIB_BURST="0": out of range [1, 1000000]`},
		{Burst, "2.0", `AI_LIB_BURST="2.0": not an integer`},
		{MaxRetries, "101", `AI_LIB_MAX_RETRIES="101": out of range [0, 100]`},
		{BreakerFailureThreshold, "0", `AI_LIB_BREAKER_FAILURE_THRESHOLD="0": out of range`},
		{BreakerCooldownSecs, "0", `AI_LIB_BREAKER_COOLDOWN_SECS="0": out of range [0.001, 86400]`},
		{BreakerCooldownSecs, "1e-10", `AI_LIB_BREAKER_COOLDOWN_SECS="1e-10": out of range [0.001, 86400]`}, // P5: would round to 0
		{BreakerCooldownSecs, "30s", `AI_LIB_BREAKER_COOLDOWN_SECS="30s": not a number`},
		{BreakerCooldownSecs, "86401", `AI_LIB_BREAKER_COOLDOWN_SECS="86401": out of range`},
		{BreakerMaxCooldownSecs, "0", `AI_LIB_BREAKER_MAX_COOLDOWN_SECS="0": out of range [0.001, 86400]`},
		{BreakerMaxCooldownSecs, "1e-10", `AI_LIB_BREAKER_MAX_COOLDOWN_SECS="1e-10": out of range`},
		{BreakerMaxCooldownSecs, "2m", `AI_LIB_BREAKER_MAX_COOLDOWN_SECS="2m": not a number`},
		{BreakerFailureRate, "0", `AI_LIB_BREAKER_FAILURE_RATE="0": must be > 0`},
		{BreakerFailureRate, "1.5", `AI_LIB_BREAKER_FAILURE_RATE="1.5": out of range [0, 1]`},
		{BreakerFailureRate, "80%", `AI_LIB_BREAKER_FAILURE_RATE="80%": not a number`},
		{BreakerMinRequests, "0", `AI_LIB_BREAKER_MIN_REQUESTS="0": out of range [1, 1000000]`},
		{BreakerWindowSecs, "0.001", `AI_LIB_BREAKER_WINDOW_SECS="0.001": out of range [0.01, 86400]`},
		{BreakerWindowSecs, "1m", `AI_LIB_BREAKER_WINDOW_SECS="1m": not a number`},
		{MaxInflight, "-1", `AI_LIB_MAX_INFLIGHT="-1": out of range`},
		{QueueTimeoutMS, "1e3", `AI_LIB_QUEUE_TIMEOUT_MS="1e3": not an integer`},
		{QueueTimeoutMS, "99999999999999999999", `AI_LIB_QUEUE_TIMEOUT_MS="99999999999999999999": out of range`},
		{RetryBudget, "0", `AI_LIB_RETRY_BUDGET="0": must be -1 (no budget) or at least 1`},
		{RetryBudget, "-2", `AI_LIB_RETRY_BUDGET="-2": out of range [-1, 1000000]`},
		{RetryBudget, "50%", `AI_LIB_RETRY_BUDGET="50%": not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := ReadResilience(lookup(map[string]string{tt.name: tt.value}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadResilience(%s=%q) = %v; want %q", tt.name, tt.value, err, tt.want)
			}
			var ve *VarError
			if !errors.As(err, &ve) || ve.Name != tt.name {
				t.Errorf("ReadResilience(%s=%q) error %v is not a *VarError naming it", tt.name, tt.value, err)
			}
		})
	}
}

func TestReadResilienceJoinsEveryProblem(t *testing.T) {
	_, err := ReadResilience(lookup(map[string]string{RPS: "x", Burst: "y", MaxInflight: "z"}))
	if err == nil {
		t.Fatal("ReadResilience = nil error; want 3 problems")
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("joined errors = %d; want 3", n)
	}
}

func TestLongValuesAreClipped(t *testing.T) {
	_, err := ReadResilience(lookup(map[string]string{RPS: strings.Repeat("x", 1000)}))
	if err == nil || len(err.Error()) > 120 {
		t.Errorf("ReadResilience(long value) error = %q; want a short message", err)
	}
}

func TestReadsTheEnvironmentWhenCalled(t *testing.T) {
	t.Setenv(MaxRetries, "4")
	r, err := ReadResilience(nil)
	if err != nil || r.MaxRetries == nil || *r.MaxRetries != 4 {
		t.Errorf("ReadResilience(nil) with %s=4 = %+v, %v; want 4", MaxRetries, r, err)
	}
	if len(Names) != 13 {
		t.Errorf("len(Names) = %d; want 13", len(Names))
	}
}

func TestTokenAndBudgetVariables(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr string
		check   func(Resilience) bool
	}{
		{map[string]string{TPM: "30000"}, "", func(r Resilience) bool { return r.TPM != nil && *r.TPM == 30000 }},
		{map[string]string{TPM: "-1"}, TPM, nil},
		{map[string]string{RetryBudget: "40"}, "", func(r Resilience) bool { return r.RetryBudget != nil && *r.RetryBudget == 40 }},
		{map[string]string{RetryBudget: "-1"}, "", func(r Resilience) bool { return r.RetryBudget != nil && *r.RetryBudget == -1 }},
		{map[string]string{RetryBudget: "0"}, RetryBudget, nil},
		{map[string]string{RetryBudget: "1000001"}, RetryBudget, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.env), func(t *testing.T) {
			r, err := ReadResilience(lookup(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ReadResilience(%v) error = %v; want one naming %s", tt.env, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(r) {
				t.Errorf("ReadResilience(%v) = %+v, %v; want the value read", tt.env, r, err)
			}
		})
	}
}

// P5: no accepted duration rounds to zero (which would mean "the default").
func TestP5SecondsNeverRoundToZero(t *testing.T) {
	for _, name := range []string{BreakerCooldownSecs, BreakerMaxCooldownSecs, BreakerWindowSecs} {
		for _, v := range []string{"1e-10", "0.0000001", "1e-300", "0"} {
			r, err := ReadResilience(lookup(map[string]string{name: v}))
			if err == nil {
				t.Errorf("ReadResilience(%s=%s) = %+v, nil; want an out-of-range error", name, v, r)
			}
		}
	}
	r, err := ReadResilience(lookup(map[string]string{BreakerCooldownSecs: "0.001", BreakerMaxCooldownSecs: "0.001", BreakerWindowSecs: "0.01"}))
	if err != nil || *r.BreakerCooldown != time.Millisecond || *r.BreakerMaxCooldown != time.Millisecond || *r.BreakerWindow != 10*time.Millisecond {
		t.Errorf("ReadResilience(the minimums) = %+v, %v; want 1ms, 1ms, 10ms", r, err)
	}
}

func TestUnknown(t *testing.T) {
	environ := []string{
		"PATH=/bin", "AI_LIB_RPS=1", "AI_LIB_RPSS=1", "AI_LIB_BREAKER_TRIP=either", "AI_LIB_RPSS=2",
		"AI_LIB_CLIENT_THING=x", "AI_LIBRARY=1", "ai_lib_rps=1", "AI_LIB_=", "AI_LIB_RETRY_BUDGET_PERCENT", "OPENAI_API_KEY=sk",
	}
	got := Unknown(environ, "AI_LIB_CLIENT_THING")
	want := []string{"AI_LIB_", "AI_LIB_BREAKER_TRIP", "AI_LIB_RETRY_BUDGET_PERCENT", "AI_LIB_RPSS"}
	if !slices.Equal(got, want) {
		t.Errorf("Unknown(...) = %q; want %q (sorted, once each, known names and other prefixes left out)", got, want)
	}
	var env []string
	for _, n := range Names {
		env = append(env, n+"=1")
	}
	if got := Unknown(env); len(got) != 0 {
		t.Errorf("Unknown(every name of Names) = %q; want none", got)
	}
	if got := Unknown(nil); got != nil {
		t.Errorf("Unknown(nil) = %q; want nil", got)
	}
}
