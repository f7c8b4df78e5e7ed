package envconfig

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzReadResilience sets every variable of Names from one fuzzed string
// (values separated by NUL, in the order of Names; missing ones unset) and
// checks that ReadResilience never panics and that each variable set to a
// non-blank value ends either accepted, with a value in range, or in
// exactly one *VarError naming it, whose text is one short valid line.
func FuzzReadResilience(f *testing.F) {
	f.Add("0.5\x003\x00100\x001\x000.25\x00120\x000.75\x0040\x0012.5\x000\x001500\x0030000\x00-1")
	f.Add("1\x001\x000\x001\x001e-10\x000.0001\x001\x001\x000.001\x001\x000\x000\x000") // P5: tiny durations
	f.Add("abc\x00-1\x001e3\x000\x000\x00sometimes\x000\x000\x000\x00-0\x009999999999999999999")
	f.Add("NaN\x00Inf\x00+Inf\x00-Inf\x001e309\x00\x00nan\x000x10\x001_000\x00 \x00\t7\n")
	f.Add("\xff\xfe\x00" + strings.Repeat("9", 200) + "\x00١\x00½\x00\x00EITHER\x001.0000000001")
	f.Add("")
	f.Fuzz(func(t *testing.T, joined string) {
		values := strings.Split(joined, "\x00")
		env := map[string]string{}
		set := 0
		for i, name := range Names {
			if i < len(values) {
				env[name] = values[i]
				if strings.TrimSpace(values[i]) != "" {
					set++
				}
			}
		}
		r, err := ReadResilience(func(name string) (string, bool) {
			v, ok := env[name]
			return v, ok
		})

		var failed []string
		if err != nil {
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var ve *VarError
				if !errors.As(e, &ve) {
					t.Fatalf("error %v (%T) is not a *VarError", e, e)
				}
				if !slices.Contains(Names, ve.Name) || slices.Contains(failed, ve.Name) {
					t.Fatalf("VarError for %q: unknown or reported twice (%v)", ve.Name, failed)
				}
				failed = append(failed, ve.Name)
				msg := ve.Error()
				if !strings.HasPrefix(msg, ve.Name+"=") || len(msg) > 512 || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\r\n") {
					t.Fatalf("VarError text %q: want one valid line of at most 512 bytes starting %s=", msg, ve.Name)
				}
			}
		}

		accepted := 0
		v := reflect.ValueOf(r)
		for i := range v.NumField() {
			field, name := v.Field(i), v.Type().Field(i).Name
			if field.Kind() != reflect.Pointer {
				t.Fatalf("Resilience.%s is not a pointer; update this test", name)
			}
			if field.IsNil() {
				continue
			}
			accepted++
			switch x := field.Interface().(type) {
			case *float64:
				if math.IsNaN(*x) || math.IsInf(*x, 0) || *x < 0 {
					t.Fatalf("Resilience.%s = %v; want a finite number >= 0", name, *x)
				}
			case *int:
				if *x < 0 && !(name == "RetryBudget" && *x == -1) {
					t.Fatalf("Resilience.%s = %d; want >= 0 (or -1 for RetryBudget)", name, *x)
				}
				if name == "RetryBudget" && *x == 0 {
					t.Fatalf("Resilience.RetryBudget = 0; want -1 or at least 1")
				}
			case *time.Duration:
				if *x < 0 {
					t.Fatalf("Resilience.%s = %v; want >= 0", name, *x)
				}
				if *x == 0 && name != "QueueTimeout" {
					t.Fatalf("Resilience.%s = 0; a duration given in seconds must never round to 0 (the default)", name)
				}
			default:
				t.Fatalf("Resilience.%s has type %T; update this test", name, x)
			}
		}
		if accepted+len(failed) != set {
			t.Fatalf("ReadResilience(%q): %d accepted + %d rejected; want the %d variables set", values, accepted, len(failed), set)
		}
	})
}
