package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
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

// TestAModelThatRefusesJSONSchemaGetsJSONMode: most of Groq's models
// refuse json_schema output; the request goes again as JSON mode with the
// schema in a system message, and so does every later one to that target.
func TestAModelThatRefusesJSONSchemaGetsJSONMode(t *testing.T) {
	srv := newServer(t)
	groq := client.ProviderConfig{BaseURL: srv.URL() + "/openai/v1", APIKey: "gsk_test0123456789abcdef"}
	c := build(t, builder(srv).Provider("groq", groq).Model("groq/llama-3.3-70b-versatile"))
	srv.Script("llama-3.3-70b-versatile",
		providertest.Answer{Status: http.StatusBadRequest, Body: `{"error":{"message":"This model does not support response format ` + "`json_schema`" + `. See supported models at https://console.groq.com/docs/structured-outputs#supported-models","type":"invalid_request_error","param":"response_format"}}`},
		providertest.OK(`{"t":18}`), providertest.OK(`{"t":19}`))
	req := client.ChatRequest{Messages: []client.Message{client.User("Temperature in Paris?")},
		ResponseFormat: client.JSONSchema("weather", json.RawMessage(`{"type":"object","properties":{"t":{"type":"number"}},"required":["t"]}`), true)}
	for i, want := range []string{`{"t":18}`, `{"t":19}`} {
		resp, err := c.Chat(context.Background(), req)
		if err != nil || resp.Content != want {
			t.Fatalf("call %d: Chat() = %+v, %v; want %s", i, resp, err, want)
		}
	}
	var formats []string
	for _, r := range srv.Received() {
		var body struct {
			ResponseFormat struct {
				Type string `json:"type"`
			} `json:"response_format"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		formats = append(formats, body.ResponseFormat.Type)
		if body.ResponseFormat.Type == "json_object" && (body.Messages[0].Role != "system" || !strings.Contains(body.Messages[0].Content, `"required":["t"]`)) {
			t.Errorf("JSON mode request without the schema in a system message first: %+v", body.Messages)
		}
	}
	if !slices.Equal(formats, []string{"json_schema", "json_object", "json_object"}) {
		t.Errorf("response_format types sent %v; want [json_schema json_object json_object]", formats)
	}
}

// TestARefusalOfWhatWasNotSentIsNotResent: an answer refusing a parameter
// the request did not carry (JSON mode refused, where only json_schema
// could be dropped) fails the call after one request: the same request
// again could only be refused again.
func TestARefusalOfWhatWasNotSentIsNotResent(t *testing.T) {
	srv := newServer(t)
	c := build(t, builder(srv).Model("openai/gpt-4"))
	srv.SetDefault("gpt-4", providertest.Answer{Status: http.StatusBadRequest, Body: `{"error":{"message":"Invalid parameter: 'response_format' of type 'json_object' is not supported with this model.","type":"invalid_request_error","param":"response_format","code":null}}`})
	_, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Reply in JSON.")}, ResponseFormat: client.JSONObject()})
	if !errors.Is(err, aierrors.InvalidRequest) {
		t.Fatalf("Chat() error = %v; want invalid_request", err)
	}
	if n := srv.Requests("gpt-4"); n != 1 {
		t.Errorf("%d requests; want 1 (nothing to leave out of a json_object request)", n)
	}
}
