package wire

import jsonv1 "github.com/go-json-experiment/json/v1"

// unmarshal is json.Unmarshal: encoding/json's semantics (names matched in
// any case, invalid UTF-8 replaced, the last of duplicate names kept, ...)
// on the engine of encoding/json/v2, from the module that carries it for
// Go releases before 1.27 and aliases the standard library from 1.27 on.
//
// Decoding the answer was the largest cost of a call on our side: the
// v2 engine reads a chat completion in one pass, without encoding/json's
// validating pre-scan, in half the time and a fraction of the
// allocations (BenchmarkDecode). FuzzUnmarshalMatchesEncodingJSON checks
// that it decodes what encoding/json decodes, and fails where it fails.
//
// Encoding stays on encoding/json: requests are small, and the v2
// engine's omitempty means something else.
func unmarshal(data []byte, v any) error {
	return jsonv1.Unmarshal(data, v)
}
