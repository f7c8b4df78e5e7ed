package providertest_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ailib-go/ailib/client/providertest"
)

// A reasoning model's answer: on an OpenAI route its reasoning comes as
// DeepSeek's reasoning_content, beside the content.
func ExampleAnswer_reasoning() {
	srv := providertest.New()
	srv.Script("deepseek-reasoner", providertest.Answer{Reasoning: "9.8 = 9.80 and 80 > 11.", Text: "9.8 is bigger."})

	resp, err := srv.Client().Post(srv.URL()+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"deepseek-reasoner","messages":[{"role":"user","content":"9.11 or 9.8?"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var out struct {
		Choices []struct {
			Message struct {
				Content          string
				ReasoningContent string `json:"reasoning_content"`
			}
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
			Details          struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"completion_tokens_details"`
		}
	}
	json.NewDecoder(resp.Body).Decode(&out)
	fmt.Println("reasoning:", out.Choices[0].Message.ReasoningContent)
	fmt.Println("answer:", out.Choices[0].Message.Content)
	fmt.Println("tokens:", out.Usage.CompletionTokens, "of which reasoning:", out.Usage.Details.ReasoningTokens)
	// Output:
	// reasoning: 9.8 = 9.80 and 80 > 11.
	// answer: 9.8 is bigger.
	// tokens: 10 of which reasoning: 7
}
