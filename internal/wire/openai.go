package wire

import (
	"encoding/json"
)

type openAIRequest struct {
	Model               string    `json:"model"`
	Messages            []Message `json:"messages"`
	MaxTokens           int       `json:"max_tokens,omitempty"`
	MaxCompletionTokens int       `json:"max_completion_tokens,omitempty"`
	Temperature         *float64  `json:"temperature,omitempty"`
	TopP                *float64  `json:"top_p,omitempty"`
	Stop                []string  `json:"stop,omitempty"`
	Stream              bool      `json:"stream,omitempty"`
}

func encodeOpenAI(r Request) ([]byte, error) {
	req := openAIRequest{
		Model:       r.Model,
		Messages:    r.Messages,
		Temperature: r.Temperature,
		TopP:        r.TopP,
		Stop:        r.Stop,
		Stream:      r.Stream,
	}
	if req.Messages == nil {
		req.Messages = []Message{}
	}
	if r.MaxCompletionTokens {
		req.MaxCompletionTokens = r.MaxTokens
	} else {
		req.MaxTokens = r.MaxTokens
	}
	return json.Marshal(req)
}

type openAIUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (u *openAIUsage) usage() Usage {
	if u == nil {
		return Usage{}
	}
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	return Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: total}
}

type openAIResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *openAIUsage `json:"usage"`
	Error *openAIError `json:"error"`
}

func decodeOpenAI(body []byte) (Response, error) {
	var r openAIResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Response{}, malformed("not a chat completion: %v", err)
	}
	if r.Error != nil {
		return Response{}, r.Error.apiError(body)
	}
	if len(r.Choices) == 0 {
		return Response{}, malformed("chat completion without choices")
	}
	c := r.Choices[0]
	out := Response{ID: r.ID, Model: r.Model, Usage: r.Usage.usage()}
	switch {
	case c.Message.Content != nil:
		out.Content = *c.Message.Content
	case c.Message.Refusal != nil:
		out.Content = *c.Message.Refusal
	}
	if c.FinishReason != nil {
		out.FinishReason = *c.FinishReason
	}
	return out, nil
}

type openAIChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Delta struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *openAIUsage `json:"usage"`
	Error *openAIError `json:"error"`
}

func (d *StreamDecoder) openAI(eventType, data string) (Chunk, error) {
	if data == "[DONE]" {
		return Chunk{Kind: Done}, nil
	}
	var c openAIChunk
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return Chunk{}, malformed("stream chunk is not JSON: %v", err)
	}
	if c.Error != nil {
		return Chunk{}, c.Error.apiError([]byte(data))
	}
	if eventType == "error" {
		// Some compatible servers name the event instead of wrapping the
		// object in "error".
		var e openAIError
		_ = json.Unmarshal([]byte(data), &e)
		return Chunk{}, e.apiError([]byte(data))
	}
	if c.ID != "" {
		d.id = c.ID
	}
	if c.Model != "" {
		d.model = c.Model
	}
	if c.Usage != nil {
		d.usage = c.Usage.usage()
	}
	var text string
	for _, ch := range c.Choices[:min(len(c.Choices), 1)] {
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			d.finish = *ch.FinishReason
		}
		switch {
		case ch.Delta.Content != nil:
			text = *ch.Delta.Content
		case ch.Delta.Refusal != nil:
			text = *ch.Delta.Refusal
		}
	}
	if text == "" {
		return Chunk{Kind: Skip}, nil
	}
	return Chunk{Kind: Content, Text: text}, nil
}
