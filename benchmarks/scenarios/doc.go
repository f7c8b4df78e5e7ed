// Package scenarios plays the chaos scenarios S1–S5 of ailib's issue 6 and S6–S7 of issue 9
// against ailib and the alternatives users pick today (the official
// openai-go SDK, failsafe-go, a naive retry loop), each pointed at a
// [providertest] server, and measures how well their calls survive.
//
// [Run] drives one contender through one [Scenario] in an [Env]:
// [Loopback] (real HTTP on a loopback port, real time, optionally scaled
// down) or [InProcess] (the server's in-process transport, for
// testing/synctest bubbles where time is virtual). [Markdown] prints the
// results next to the scenario's theoretical best.
//
// The scenario family of issue 20 ([FullFamily], [TestFamily], [Point],
// [RunPoint], [FamilyMarkdown]) generates scenarios over a grid of
// rate-limit behaviours, noise levels and outages, and plays each point
// with the plain retry loop and ailib's defaults ([FamilyContenders]).
//
// The runner is cmd/scenarios:
//
//	go run ./cmd/scenarios -quick
package scenarios
