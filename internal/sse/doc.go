// Package sse decodes a Server-Sent Events stream (the text/event-stream
// format of the WHATWG HTML standard, section 9.2 "Server-sent events").
//
// A [Decoder] reads events one at a time from an [io.Reader]: it accepts
// LF, CRLF and lone CR line endings, joins multi-line data fields with
// "\n", ignores comment lines (":" ...) and unknown fields, keeps the last
// event ID across events, records the retry field, and strips one leading
// UTF-8 byte order mark. One field not in the standard is read: "error",
// as the data of an event of type "error" (llama.cpp's server sent a
// stream's error so). An event is dispatched only at the blank line that
// ends it; an event cut off by the end of the input is dropped, as the
// standard says.
//
// Every line and every event's data are bounded ([DefaultMaxBytes] unless
// set with [NewDecoderSize]), so a peer that never sends a newline costs a
// bounded amount of memory and ends the stream with [ErrTooLong].
//
// A Decoder is not safe for concurrent use.
package sse
