package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
	aierrors "github.com/ailib-go/ailib/errors"
)

// refusesTemperature is OpenAI's answer to a temperature its reasoning
// models do not take.
var refusesTemperature = providertest.Answer{Status: http.StatusBadRequest, Body: `{"error":{"message":"Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}`}

// sentTemperature reports whether body set temperature.
func sentTemperature(t *testing.T, body []byte) bool {
	t.Helper()
	var b map[string]json.RawMessage
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	_, ok := b["temperature"]
	return ok
}

// TestAModelThatRefusesAParameterIsSentNoneOfIt: a model that refuses a
// sampling parameter (OpenAI's reasoning models and temperature) gets the
// same request without it at once, and every later request goes without
// it: a fallback to such a model from one that takes the parameter works.
func TestAModelThatRefusesAParameterIsSentNoneOfIt(t *testing.T) {
	temp := 0.2
	req := client.ChatRequest{Messages: []client.Message{client.User("hi")}, Temperature: &temp}
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "chat", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			c := build(t, builder(srv).Model("anthropic/claude").Fallback("openai/gpt-5"))
			srv.SetDefault("claude", providertest.InsufficientQuota())
			srv.Script("gpt-5", refusesTemperature)
			call := func() (string, error) {
				if !stream {
					resp, err := c.Chat(context.Background(), req)
					if err != nil {
						return "", err
					}
					return resp.Provider, nil
				}
				s, err := c.Stream(context.Background(), req)
				if err != nil {
					return "", err
				}
				defer s.Close()
				for s.Next() {
				}
				return s.Provider(), s.Err()
			}
			for i := range 2 {
				if p, err := call(); err != nil || p != "openai" {
					t.Fatalf("call %d: provider %q, error %v; want openai's answer", i, p, err)
				}
			}
			var sent []bool
			for _, r := range srv.Received() {
				if r.Model == "gpt-5" {
					sent = append(sent, sentTemperature(t, r.Body))
				}
			}
			// The refused request, its resend, the next call.
			if len(sent) != 3 || !sent[0] || sent[1] || sent[2] {
				t.Errorf("requests to gpt-5 set temperature: %v; want [true false false]", sent)
			}
		})
	}
}

// TestARefusalNotAboutTheParameterDoesNotLoop: a server that keeps
// refusing after the parameter was left out gets one resend, then the
// call fails with its answer.
func TestARefusalNotAboutTheParameterDoesNotLoop(t *testing.T) {
	srv := newServer(t)
	c := build(t, builder(srv).Model("openai/gpt-5"))
	srv.SetDefault("gpt-5", refusesTemperature)
	temp := 0.2
	_, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("hi")}, Temperature: &temp})
	if !errors.Is(err, aierrors.InvalidRequest) {
		t.Fatalf("Chat() error = %v; want invalid_request", err)
	}
	if n := srv.Requests("gpt-5"); n != 2 {
		t.Errorf("%d requests; want 2 (the request, once resent without temperature)", n)
	}
}
