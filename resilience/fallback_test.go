package resilience

import (
	"context"
	"errors"
	"strings"
	"testing"

	aierrors "github.com/ailib-go/ailib/errors"
)

// failEach returns an op failing each target with its error.
func failEach(errs map[string]error) func(context.Context, string) error {
	return func(_ context.Context, target string) error { return errs[target] }
}

func targetErr(target string, code aierrors.StandardErrorCode) *aierrors.Error {
	provider, model, _ := strings.Cut(target, "/")
	return &aierrors.Error{Code: code, Provider: provider, Model: model, HTTPStatus: code.HTTPStatus(), Message: code.Name()}
}

// TestFallbackReadmeSwitch is the README's first snippet as written: the
// primary out of quota, the fallback overloaded. The call failed because
// the fallback is overloaded; the QuotaExhausted case ("out of credit")
// must not fire, whatever the order of the cases.
func TestFallbackReadmeSwitch(t *testing.T) {
	const primary, fallback = "openai/gpt-4o", "anthropic/claude-3-5-sonnet-latest"
	chain := NewFallbackChain(primary, fallback)
	err := chain.Execute(t.Context(), failEach(map[string]error{
		primary:  targetErr(primary, aierrors.QuotaExhausted),
		fallback: targetErr(fallback, aierrors.Overloaded),
	}))

	branch := ""
	switch {
	case err == nil:
		branch = "ok"
	case errors.Is(err, aierrors.QuotaExhausted):
		branch = "quota"
	case errors.Is(err, context.Canceled):
		branch = "cancelled"
	default:
		branch = "other"
	}
	if branch != "other" {
		t.Errorf("README switch on %q took case %q; want the default (the deciding error is overloaded)", err, branch)
	}
	if errors.Is(err, aierrors.QuotaExhausted) || !errors.Is(err, aierrors.Overloaded) {
		t.Errorf("errors.Is(err, QuotaExhausted) = %v, errors.Is(err, Overloaded) = %v; want false, true",
			errors.Is(err, aierrors.QuotaExhausted), errors.Is(err, aierrors.Overloaded))
	}
	if got := aierrors.CodeOf(err); got != aierrors.Overloaded {
		t.Errorf("CodeOf(err) = %v; want the last target's, E3002 overloaded", got)
	}
	var ae *aierrors.Error
	if !errors.As(err, &ae) || ae.Provider != "anthropic" {
		t.Errorf("errors.As(err, *aierrors.Error) = %+v; want the last target's (anthropic)", ae)
	}
	// The text names each target.
	for _, want := range []string{"resilience: all 2 targets failed; ailib: openai/gpt-4o: E2002 quota_exhausted", "; ailib: anthropic/claude-3-5-sonnet-latest: E3002 overloaded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Error() = %q; want it to contain %q", err, want)
		}
	}
}

// TestFallbackEveryErrorReachable: every target's error is reachable
// through errors.As, the deciding one first, as the doc says.
func TestFallbackEveryErrorReachable(t *testing.T) {
	targets := []string{"openai/gpt-4o", "groq/llama", "anthropic/claude"}
	codes := []aierrors.StandardErrorCode{aierrors.QuotaExhausted, aierrors.Authentication, aierrors.Overloaded}
	errs := map[string]error{}
	for i, tg := range targets {
		errs[tg] = targetErr(tg, codes[i])
	}
	err := NewFallbackChain(targets...).Execute(t.Context(), failEach(errs))
	for _, c := range codes[:2] {
		if errors.Is(err, c) {
			t.Errorf("errors.Is(err, %v) = true; want only the deciding code to match", c)
		}
	}
	if got, want := err.Error(), "resilience: all 3 targets failed; ailib: openai/gpt-4o: E2002 quota_exhausted"; !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q; want it to start %q", got, want)
	}
	var all interface{ Unwrap() []error }
	if !errors.As(err, &all) {
		t.Fatalf("errors.As(err, interface{ Unwrap() []error }) = false; want the chain's error")
	}
	var got []string
	for _, e := range all.Unwrap() {
		var ae *aierrors.Error
		if !errors.As(e, &ae) {
			t.Fatalf("errors.As(%v, *aierrors.Error) = false; want true", e)
		}
		got = append(got, ae.Provider+" "+ae.Code.Name())
	}
	want := "anthropic overloaded, openai quota_exhausted, groq authentication"
	if strings.Join(got, ", ") != want {
		t.Errorf("Unwrap() lists %q; want %q (the deciding error, then the others in target order)", strings.Join(got, ", "), want)
	}
}

// TestFallbackEndedEarlyKeepsEarlierErrors: a target that fails in a way
// no other target would fix ends the call before the last target, and the
// earlier targets' errors stay in it (the primary out of quota, then a
// fallback model that no longer exists): before, only the last was kept,
// so nothing said the primary was out of credit.
func TestFallbackEndedEarlyKeepsEarlierErrors(t *testing.T) {
	targets := []string{"openai/gpt-4o", "anthropic/claude-3-5-sonnet-latest", "groq/llama"}
	calls := 0
	err := NewFallbackChain(targets...).Execute(t.Context(), func(_ context.Context, target string) error {
		calls++
		return map[string]error{
			targets[0]: targetErr(targets[0], aierrors.QuotaExhausted),
			targets[1]: targetErr(targets[1], aierrors.NotFound),
		}[target]
	})
	if calls != 2 {
		t.Errorf("%d targets called; want 2 (not found ends the chain)", calls)
	}
	if got, want := err.Error(), "resilience: 2 of 3 targets failed; ailib: openai/gpt-4o: E2002 quota_exhausted"; !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q; want it to start %q", got, want)
	}
	if !errors.Is(err, aierrors.NotFound) || errors.Is(err, aierrors.QuotaExhausted) {
		t.Errorf("errors.Is(err, NotFound) = %v, errors.Is(err, QuotaExhausted) = %v; want true, false (the last decides)",
			errors.Is(err, aierrors.NotFound), errors.Is(err, aierrors.QuotaExhausted))
	}
	var all interface{ Unwrap() []error }
	if !errors.As(err, &all) || len(all.Unwrap()) != 2 {
		t.Fatalf("errors.As(err, interface{ Unwrap() []error }) found %v; want both targets' errors", all)
	}
	var ae *aierrors.Error
	if !errors.As(all.Unwrap()[1], &ae) || ae.Code != aierrors.QuotaExhausted {
		t.Errorf("the primary's error = %v; want its quota_exhausted reachable", ae)
	}

	// The caller's cancel, met after a fallback, keeps the earlier error too.
	ctx, cancel := context.WithCancel(t.Context())
	err = NewFallbackChain(targets...).Execute(ctx, func(_ context.Context, target string) error {
		if target == targets[0] {
			return targetErr(target, aierrors.Overloaded)
		}
		cancel()
		return targetErr(target, aierrors.ServerError)
	})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "resilience: 2 of 3 targets failed; ailib: openai/gpt-4o: E3002 overloaded") {
		t.Errorf("cancelled at the fallback: %v; want Canceled, with the primary's error in the text", err)
	}
}

// A target's error that does not name the target is prefixed with it.
func TestFallbackErrorTextNamesTargets(t *testing.T) {
	err := NewFallbackChain("a/x", "b/y").Execute(t.Context(), func(_ context.Context, target string) error {
		return &aierrors.Error{Code: aierrors.Overloaded}
	})
	if got, want := err.Error(), "resilience: all 2 targets failed; a/x: ailib: E3002 overloaded; b/y: ailib: E3002 overloaded"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}

// TestFallbackSingleTargetError: a chain of one target returns the
// target's own error, with no "all 1 targets failed" wrapper; so does a
// chain whose first target fails with an error that does not fall back.
func TestFallbackSingleTargetError(t *testing.T) {
	e := targetErr("openai/gpt-4o", aierrors.Overloaded)
	if err := NewFallbackChain("openai/gpt-4o").Execute(t.Context(), failEach(map[string]error{"openai/gpt-4o": e})); err != e {
		t.Errorf("single-target Execute = %v; want the target's error itself", err)
	}
	bad := targetErr("openai/gpt-4o", aierrors.InvalidRequest)
	calls := 0
	err := NewFallbackChain("openai/gpt-4o", "anthropic/claude").Execute(t.Context(), func(context.Context, string) error {
		calls++
		return bad
	})
	if err != bad || calls != 1 {
		t.Errorf("Execute = %v after %d calls; want the invalid request itself after 1", err, calls)
	}
}
