package providertest_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ailib-go/ailib/client"
	"github.com/ailib-go/ailib/client/providertest"
)

func ExampleHostTransport() {
	east, west := providertest.New(), providertest.New()
	defer east.Close()
	defer west.Close()
	west.SetDefault("gpt-4o", providertest.OK("from west"))
	hc := &http.Client{Transport: providertest.HostTransport(map[string]*providertest.Server{
		"east.invalid": east, "west.invalid": west,
	})}
	c, err := client.NewBuilder().IgnoreEnvironment().HTTPClient(hc).
		Model("openai/gpt-4o").
		Provider("openai", client.ProviderConfig{BaseURL: "http://west.invalid/v1", APIKey: "sk-test-000000000000"}).
		Build()
	if err != nil {
		panic(err)
	}
	resp, err := c.Chat(context.Background(), client.ChatRequest{Messages: []client.Message{client.User("Hi")}})
	fmt.Println(resp.Content, err, east.Stats("gpt-4o").Requests)
	// Output: from west <nil> 0
}
