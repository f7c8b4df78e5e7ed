package client

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	aierrors "github.com/ailib-go/ailib/errors"
	"github.com/ailib-go/ailib/internal/redact"
	"github.com/ailib-go/ailib/resilience"
)

// TestRedactHooksCoversEveryHook sets every hook of resilience.Hooks, found
// by reflection so that a hook added later is covered too, calls each
// wrapped hook with a payload whose every string and error field holds a
// key, and checks that the hook received none of it, while errors.Is and
// errors.As still reach the original error.
func TestRedactHooksCoversEveryHook(t *testing.T) {
	const key = "sk-[br]|p^c~t`;,:Jd84Hf73Gs62Ka51!*$"
	secrets := redact.NewSecrets(key)
	sentinel := errors.New("sentinel")

	var h resilience.Hooks
	hv := reflect.ValueOf(&h).Elem()
	got := map[string]string{}
	for i := range hv.NumField() {
		name := hv.Type().Field(i).Name
		ft := hv.Field(i).Type()
		if ft.Kind() != reflect.Func {
			continue
		}
		hv.Field(i).Set(reflect.MakeFunc(ft, func(args []reflect.Value) []reflect.Value {
			got[name] = fmt.Sprintf("%+v", args[0].Interface())
			checkErrorsReachable(t, name, args[0], sentinel)
			return nil
		}))
	}

	wrapped := reflect.ValueOf(redactHooks(h, secrets))
	for i := range wrapped.NumField() {
		name := wrapped.Type().Field(i).Name
		f := wrapped.Field(i)
		if f.Kind() != reflect.Func {
			continue
		}
		payload := reflect.New(f.Type().In(0)).Elem()
		plant(payload, key, sentinel)
		planted := fmt.Sprintf("%+v", payload.Interface())
		f.Call([]reflect.Value{payload})
		text, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: the wrapped hook did not call the caller's", name)
		case strings.Contains(planted, key[3:12]) && strings.Contains(text, key[3:12]):
			t.Errorf("%s: payload %s reached the hook", name, text)
		}
	}
	if len(got) < 7 {
		t.Errorf("only %d hooks called; want every hook of resilience.Hooks", len(got))
	}
}

// plant sets every string and error field of v to hold key.
func plant(v reflect.Value, key string, sentinel error) {
	switch {
	case v.Type() == aiErrorType:
		v.Set(reflect.ValueOf(&aierrors.Error{Code: aierrors.Authentication, Message: "bad key " + key,
			ProviderCode: key, RequestID: key, Err: fmt.Errorf("cause %s: %w", key, sentinel)}))
	case v.Type() == errorType:
		v.Set(reflect.ValueOf(fmt.Errorf("ailib: %w: %s", &aierrors.Error{Code: aierrors.Overloaded, Message: key, Err: sentinel}, key)))
	case v.Kind() == reflect.String:
		v.SetString("target " + key)
	case v.Kind() == reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				plant(v.Field(i), key, sentinel)
			}
		}
	}
}

// checkErrorsReachable checks that the errors of a masked payload still
// unwrap to the sentinel and to an *aierrors.Error of the planted code.
func checkErrorsReachable(t *testing.T, hook string, v reflect.Value, sentinel error) {
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Type() != errorType && f.Type() != aiErrorType || f.IsNil() {
			continue
		}
		err := f.Interface().(error)
		var ae *aierrors.Error
		if !errors.Is(err, sentinel) || !errors.As(err, &ae) || ae.Code == 0 {
			t.Errorf("%s: masked error %v no longer reaches the sentinel and its *aierrors.Error", hook, err)
		}
	}
}
