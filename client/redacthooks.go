package client

import (
	"reflect"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/redact"
	"github.com/ailib-go/ailib/resilience"
)

// redactHooks returns h with every hook wrapped so that its payload passes
// through s first: each string field masked, and each error whose text
// holds a secret replaced by one whose text is masked (an *aierrors.Error
// by a masked copy, any other error by a wrapper that unwraps to it). The
// errors the client builds are masked already; this is the gate for
// whatever the executors and the fallback chain put in a payload.
//
// It walks the fields of [resilience.Hooks] by reflection, so that a hook
// added to the executor later is covered without a change here. A payload
// without a secret is passed on as it came.
func redactHooks(h resilience.Hooks, s *redact.Secrets) resilience.Hooks {
	if s.Len() == 0 {
		return h
	}
	v := reflect.ValueOf(&h).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		ft := f.Type()
		if ft.Kind() != reflect.Func || f.IsNil() || ft.NumIn() != 1 || ft.NumOut() != 0 || !f.CanSet() {
			continue
		}
		next := reflect.ValueOf(f.Interface())
		f.Set(reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
			p := reflect.New(ft.In(0)).Elem()
			p.Set(args[0])
			redactValue(p, s)
			next.Call([]reflect.Value{p})
			return nil
		}))
	}
	return h
}

var (
	errorType   = reflect.TypeFor[error]()
	aiErrorType = reflect.TypeFor[*aierrors.Error]()
)

// redactValue masks s in v, a settable payload or one of its fields.
func redactValue(v reflect.Value, s *redact.Secrets) {
	switch {
	case v.Type() == aiErrorType:
		if e := v.Interface().(*aierrors.Error); e != nil {
			if clean := redactAIError(e, s); clean != e {
				v.Set(reflect.ValueOf(clean))
			}
		}
	case v.Type() == errorType:
		if err, ok := v.Interface().(error); ok && err != nil {
			if clean, changed := redactError(err, s); changed {
				v.Set(reflect.ValueOf(&clean).Elem())
			}
		}
	case v.Kind() == reflect.String:
		if clean := s.String(v.String()); clean != v.String() {
			v.SetString(clean)
		}
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				redactValue(f, s)
			}
		}
	}
}

// redactError returns err, or when its text holds a secret, an error that
// reads masked and unwraps to it (an *aierrors.Error: a masked copy). It
// reports whether it replaced err; errors are not compared, since some
// cannot be.
func redactError(err error, s *redact.Secrets) (error, bool) {
	if e, ok := err.(*aierrors.Error); ok {
		if clean := redactAIError(e, s); clean != e {
			return clean, true
		}
		return err, false
	}
	text := err.Error()
	if clean := s.String(text); clean != text {
		return &scrubbedError{err: err, text: clean}, true
	}
	return err, false
}

// redactAIError returns e, or a copy with its text fields and its cause's
// text masked when any of them holds a secret. It is the redaction of
// every *aierrors.Error the client returns or reports (see
// [AiClient.tag]).
func redactAIError(e *aierrors.Error, s *redact.Secrets) *aierrors.Error {
	out := *e
	changed := false
	for _, f := range []*string{&out.Message, &out.ProviderCode, &out.RequestID, &out.Provider, &out.Model} {
		if clean := s.String(*f); clean != *f {
			*f, changed = clean, true
		}
	}
	if e.Err != nil {
		var c bool
		out.Err, c = redactError(e.Err, s)
		changed = changed || c
	}
	if !changed {
		return e
	}
	return &out
}
