package client

import "testing"

// TestRefusedParameterReadsProvidersWords: the refusals read, from the
// providers' own answers, and answers that must not read as one.
func TestRefusedParameterReadsProvidersWords(t *testing.T) {
	tests := []struct {
		body string
		want uint32
	}{
		{`{"error":{"message":"Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}`, refusedTemperature},
		{`{"error":{"message":"Unsupported parameter: 'stop' is not supported with this model.","type":"invalid_request_error","param":"stop","code":"unsupported_parameter"}}`, refusedStop},
		{`{"type":"error","error":{"type":"invalid_request_error","message":"` + "`top_p`" + ` is deprecated for this model."}}`, refusedTopP},
		{`{"error":{"message":"litellm.BadRequestError: AnthropicException - temperature is deprecated for this model.","type":null,"param":null,"code":"400"}}`, refusedTemperature},
		{`{"error":{"message":"This model does not support response format ` + "`json_schema`" + `. See supported models at https://console.groq.com/docs/structured-outputs#supported-models","type":"invalid_request_error","param":"response_format"}}`, refusedJSONSchema},
		{`{"error":{"message":"invalid schema for response format: response_format/json_schema/next_step: minItems is not supported","type":"invalid_request_error"}}`, refusedJSONSchema},
		{`{"error":{"message":"This response_format type is unavailable now","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}`, refusedJSONSchema},
		{`{"code":"Client specified an invalid argument","error":"Model grok-4.3 does not support parameter stop"}`, refusedStop},
		{`{"code":"Client specified an invalid argument","error":"Model grok-4 does not support parameter presencePenalty."}`, 0},
		{`{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"x"}},"user_id":"u"}`, 0},
		{`{"error":{"message":"temperature is deprecated for this model.","code":400}}`, refusedTemperature},
		// OpenRouter passes the upstream's answer on in metadata.raw, and
		// OpenAI's older answers have a null code.
		{`{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"{\n  \"error\": {\n    \"message\": \"Unsupported parameter: 'temperature' is not supported with this model.\",\n    \"type\": \"invalid_request_error\",\n    \"param\": \"temperature\",\n    \"code\": null\n  }\n}","provider_name":"OpenAI"}}}`, refusedTemperature},
		{`{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":{"data":"{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"top_p is deprecated for this model.\"}}"},"provider_name":"Anthropic"}}}`, refusedTopP},
		{`{"error":{"message":"Unsupported parameter: 'stop' is not supported with this model.","type":"invalid_request_error","param":"stop","code":null}}`, refusedStop},
		{`{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":"Invalid model","provider_name":"OpenAI"}}}`, 0},
		// Not refusals of json_schema alone: JSON mode would not answer them.
		{`{"error":{"message":"response_format` + "`" + ` does not support streaming","type":"invalid_request_error"}}`, 0},
		{`{"error":{"message":"json_schema response format is not supported together with tools on this model","type":"invalid_request_error"}}`, 0},
		// Not refusals of a parameter the request could go without.
		{`{"error":{"message":"temperature and top_p cannot both be specified for this model","type":"invalid_request_error"}}`, 0},
		{`{"error":{"message":"Invalid schema for response_format 'w': In context=(), 'required' is required to be supplied and to be an array including every key in properties.","type":"invalid_request_error","param":"response_format"}}`, 0},
		{`{"error":{"message":"'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.","type":"invalid_request_error","param":"messages"}}`, 0},
		{`{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","code":"context_length_exceeded"}}`, 0},
		{`not json`, 0},
	}
	for _, tt := range tests {
		if got := refusedParameter(400, []byte(tt.body)); got != tt.want {
			t.Errorf("refusedParameter(400, %s) = %b; want %b", tt.body, got, tt.want)
		}
	}
	if got := refusedParameter(429, []byte(tests[0].body)); got != 0 {
		t.Errorf("refusedParameter(429, ...) = %b; want 0: only a 400 refuses", got)
	}
}

func TestOpenAIReasoningModel(t *testing.T) {
	for model, want := range map[string]bool{
		"ft:o4-mini-2025-04-16:org::abc": true, "ft:gpt-5-mini:org::x": true, "ft:gpt-4o-mini:org::y": false,
		"o1": true, "o3-mini": true, "o4-mini-2025-04-16": true, "gpt-5": true, "gpt-5.1-codex": true, "openai/gpt-5-mini": true,
		"gpt-4o": false, "gpt-4.1": false, "omni-moderation-latest": false, "ollama3": false, "llama3.1": false, "": false,
	} {
		if got := openAIReasoningModel(model); got != want {
			t.Errorf("openAIReasoningModel(%q) = %v; want %v", model, got, want)
		}
	}
}
