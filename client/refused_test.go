package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
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

// TestClaudeThatRefusesTemperatureIsSentNoneOfIt: Claude Opus 4.7 and
// later take no sampling parameters and say so in the message alone
// ("`temperature` is deprecated for this model."), on the Messages API and
// on its OpenAI-compatible endpoint; the request goes again without it.
func TestClaudeThatRefusesTemperatureIsSentNoneOfIt(t *testing.T) {
	answers := map[string]providertest.Answer{
		"anthropic/claude-opus-4-7": {Status: http.StatusBadRequest, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"` + "`temperature`" + ` is deprecated for this model."},"request_id":"req_011CVf7eD2Vb5pH4rY9mW3kQ"}`},
		"openai/claude-opus-4-8":    {Status: http.StatusBadRequest, Body: `{"error":{"code":"invalid_request_error","message":"temperature is deprecated for this model.","type":"invalid_request_error","param":null}}`},
	}
	temp := 0.2
	for id, refusal := range answers {
		t.Run(id, func(t *testing.T) {
			srv := newServer(t)
			_, model, _ := strings.Cut(id, "/")
			srv.Script(model, refusal, providertest.OK("Hi."))
			c := build(t, builder(srv).Model(id))
			resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("hi")}, Temperature: &temp})
			if err != nil || resp.Content != "Hi." {
				t.Fatalf("Chat() = %+v, %v; want the answer to the request without temperature", resp, err)
			}
			var sent []bool
			for _, r := range srv.Received() {
				sent = append(sent, sentTemperature(t, r.Body))
			}
			if len(sent) != 2 || !sent[0] || sent[1] {
				t.Errorf("requests set temperature: %v; want [true false]", sent)
			}
		})
	}
}

func TestRefusedParameterWords(t *testing.T) {
	for _, msg := range []string{"temperature and top_p cannot both be specified for this model", " is deprecated for this model.", "`top_k` is deprecated for this model."} {
		body := `{"type":"error","error":{"type":"invalid_request_error","message":"` + msg + `"}}`
		srv := newServer(t)
		srv.Script("claude", providertest.Answer{Status: http.StatusBadRequest, Body: body})
		c := build(t, builder(srv).Model("anthropic/claude"))
		temp := 0.2
		if _, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("hi")}, Temperature: &temp}); !errors.Is(err, aierrors.InvalidRequest) {
			t.Errorf("%q: Chat() error = %v; want invalid_request", msg, err)
		}
		if n := srv.Requests("claude"); n != 1 {
			t.Errorf("%q: %d requests; want 1 (not a refusal of a parameter the request set)", msg, n)
		}
	}
}
