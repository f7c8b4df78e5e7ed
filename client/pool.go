package client

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/ailib-go/ailib/resilience"
)

// Deployment is one way to reach a pooled model: a provider account, an
// API key, a region. See [Builder.Pool].
type Deployment struct {
	// Name names the deployment within its pool ("eastus", "org-2"). In
	// hooks, logs, signals and errors it appears as "provider/model#name"
	// ("openai/gpt-4o#eastus"); it is also the key under which its state is
	// shared through [Builder.ExecutorOptions]' shared stores, so keep it
	// the same on every replica. Letters, digits and "-_.:" only.
	Name string
	// Model is "provider/model", as for [Builder.Model]: the provider's
	// wire format and the model name sent. Deployments of one pool may use
	// different providers.
	Model string
	// BaseURL replaces the provider's base URL for this deployment (see
	// [ProviderConfig.BaseURL]); "" keeps the provider's (or the one set
	// with [Builder.Provider]).
	BaseURL string
	// APIKey is the deployment's key. When empty, the key is read from the
	// environment variable APIKeyEnv names, or else is the provider's (as
	// for a target of [Builder.Model] or [Builder.Fallback]).
	APIKey string
	// APIKeyEnv names the environment variable that holds the
	// deployment's key ("OPENAI_KEY_ORG2"). Only variables named here are
	// read for a deployment; the variable must be set.
	APIKeyEnv string
	// Header holds extra headers sent to this deployment, on top of the
	// builder's and the provider's.
	Header http.Header
	// Weight is the deployment's share of calls while every deployment has
	// capacity, relative to the others'; 0 means 1. See
	// [resilience.Pool].
	Weight float64
}

// Pool declares a pool: several deployments serving one model, used by
// its name as the primary ([Builder.Model]) or as a fallback
// ([Builder.Fallback]) in place of a "provider/model" id:
//
//	c, err := client.NewBuilder().
//		Pool("gpt-4o",
//			client.Deployment{Name: "org-1", Model: "openai/gpt-4o", APIKeyEnv: "OPENAI_KEY_ORG1"},
//			client.Deployment{Name: "org-2", Model: "openai/gpt-4o", APIKeyEnv: "OPENAI_KEY_ORG2"},
//		).
//		Model("gpt-4o").
//		Fallback("anthropic/claude-sonnet-4-5").
//		Build()
//
// Each deployment gets its own executor (circuit, limiter, cooldown,
// retry budget), configured like every target (see [Builder.Resilience]).
// Each attempt goes to a deployment with capacity, chosen by what each has
// shown (learned limits, 429s, pauses, cooldowns) and by weight; a 429,
// 5xx or revoked key moves the attempt to another deployment at once. The
// call moves on to the next fallback only when every deployment failed.
// See [resilience.Pool] for the rule.
//
// A pool's name has no "/" (so it cannot be mistaken for a
// "provider/model" id). A later call with the same name replaces the
// earlier one; deployments are copied. A pool that is declared but used
// neither by Model nor by Fallback is a Build error.
func (b *Builder) Pool(name string, deployments ...Deployment) *Builder {
	ds := make([]Deployment, len(deployments))
	for i, d := range deployments {
		d.Header = d.Header.Clone()
		ds[i] = d
	}
	for i := range b.pools {
		if b.pools[i].name == name {
			b.pools[i].deployments = ds
			return b
		}
	}
	b.pools = append(b.pools, poolDecl{name: name, deployments: ds})
	return b
}

// poolDecl is a pool as declared on the builder.
type poolDecl struct {
	name        string
	deployments []Deployment
}

// memberConfig is one deployment as Build resolved it.
type memberConfig struct {
	target   parsedTarget // id: "provider/model#name"
	settings *providerSettings
	weight   float64
}

// chainEntry is one step of the fallback chain: a target, or a pool.
type chainEntry struct {
	target  parsedTarget
	pool    string // the pool's name; "" for a target
	members []memberConfig
}

func (e chainEntry) name() string {
	if e.pool != "" {
		return e.pool
	}
	return e.target.id
}

// checkPoolName returns an error that completes `Pool("name") ...`.
func checkPoolName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name")
	case strings.Contains(name, "/"):
		return fmt.Errorf(`name must not contain "/" (it would read as a "provider/model" id)`)
	case strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar }):
		return fmt.Errorf("name contains white space or control characters")
	}
	return nil
}

// checkDeploymentName returns an error that completes "Name ...".
func checkDeploymentName(name string) error {
	if name == "" {
		return fmt.Errorf("is empty")
	}
	for _, r := range name {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || strings.ContainsRune("-_.:", r)) {
			return fmt.Errorf("%q: letters, digits and -_.: only", name)
		}
	}
	return nil
}

// resolvePool checks a pool's deployments and resolves each one's
// settings. base returns the settings of a provider as for a target (nil
// when they could not be resolved), getenv reads the environment.
func (b *Builder) resolvePool(d poolDecl, base func(parsedTarget, bool) *providerSettings, getenv func(string) string, fail func(string, ...any)) []memberConfig {
	setting := fmt.Sprintf("Pool(%q)", d.name)
	if err := checkPoolName(d.name); err != nil {
		fail("%s: %v", setting, err)
		return nil
	}
	if len(d.deployments) == 0 {
		fail("%s: no deployments", setting)
		return nil
	}
	if n := len(d.deployments); n > 64 {
		fail("%s: %d deployments, at most 64", setting, n)
		return nil
	}
	var out []memberConfig
	seen := map[string]bool{}
	for i, dep := range d.deployments {
		where := fmt.Sprintf("%s deployment %d", setting, i+1)
		if dep.Name != "" {
			where = fmt.Sprintf("%s deployment %q", setting, dep.Name)
		}
		ok := true
		bad := func(format string, args ...any) { fail(where+": "+format, args...); ok = false }
		if err := checkDeploymentName(dep.Name); err != nil {
			bad("Name %v", err)
		} else if seen[dep.Name] {
			bad("listed twice")
		}
		seen[dep.Name] = true
		pt, err := parseTarget(dep.Model)
		if err != nil {
			bad("Model(%q): %v", dep.Model, err)
		}
		if dep.BaseURL != "" {
			if err := checkBaseURL(dep.BaseURL); err != nil {
				bad("BaseURL %s", err)
			}
		}
		if err := checkKey(dep.APIKey); err != nil {
			bad("APIKey %v", err)
		}
		if err := checkHeader(dep.Header); err != nil {
			bad("Header: %v", err)
		}
		if w := dep.Weight; w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			bad("Weight %v: must be a finite number >= 0", w)
		}
		key := strings.TrimSpace(dep.APIKey)
		if key == "" && dep.APIKeyEnv != "" {
			switch {
			case b.ignoreEnv:
				bad("APIKeyEnv %q: IgnoreEnvironment is set, so no variable is read; give APIKey", dep.APIKeyEnv)
			default:
				key = strings.TrimSpace(getenv(dep.APIKeyEnv))
				if key == "" {
					bad("environment variable %s (APIKeyEnv) is not set", dep.APIKeyEnv)
				} else if err := checkKey(key); err != nil {
					bad("environment variable %s %v", dep.APIKeyEnv, err)
				}
			}
		}
		if !ok {
			continue
		}
		ps := base(pt, key == "")
		if ps == nil {
			continue
		}
		s := *ps
		if dep.BaseURL != "" {
			s.baseURL = dep.BaseURL
		}
		if key != "" {
			s.key = key
		}
		s.header = mergeHeaders(s.header, dep.Header)
		pt.id += "#" + dep.Name
		out = append(out, memberConfig{target: pt, settings: &s, weight: dep.Weight})
	}
	return out
}

// poolSecrets returns the keys and headers given to deployments, for
// [Builder.secrets] (which keeps the credential ones).
func (b *Builder) poolSecrets() (keys []string, headers []http.Header) {
	for _, p := range b.pools {
		for _, d := range p.deployments {
			keys = append(keys, strings.TrimSpace(d.APIKey))
			headers = append(headers, d.Header)
		}
	}
	return keys, headers
}

// pool is a pool of a built client: its deployments' targets behind a
// [resilience.Pool].
type pool struct {
	name    string
	members []*target
	rp      *resilience.Pool
}

// PoolSignals returns the live state of the named pool's deployments,
// and false when the client has no such pool. Each deployment's own
// snapshot is also available from [AiClient.Signals] under its name
// ("openai/gpt-4o#org-2").
func (c *AiClient) PoolSignals(name string) (resilience.PoolSignals, bool) {
	p, ok := c.pools[name]
	if !ok {
		return resilience.PoolSignals{}, false
	}
	return p.rp.Signals(), true
}

// Deployments returns the names of the named pool's deployments
// ("openai/gpt-4o#org-1", ...), in the order declared; nil when the client
// has no such pool.
func (c *AiClient) Deployments(pool string) []string {
	p, ok := c.pools[pool]
	if !ok {
		return nil
	}
	out := make([]string, len(p.members))
	for i, t := range p.members {
		out[i] = t.name
	}
	return slices.Clip(out)
}
