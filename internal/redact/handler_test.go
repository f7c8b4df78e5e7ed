package redact

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

type keyValuer string

func (k keyValuer) LogValue() slog.Value { return slog.StringValue("valuer " + string(k)) }

func TestHandlerMasksEveryPart(t *testing.T) {
	key := hostileKeys[0]
	var buf bytes.Buffer
	s := NewSecrets(key)
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), s))
	log = log.With("with", "attr "+key, slog.Group("g", "inner", url.QueryEscape(key)))
	log.WithGroup("grp").Debug("message "+key,
		"string", key,
		"error", errors.New(`Post "http://x/?echo=`+url.QueryEscape(key)+`": EOF`),
		"valuer", keyValuer(key),
		"any", struct{ Field string }{key},
		"group", slog.GroupValue(slog.String("nested", strings.ToUpper("x")+key)),
		"int", 42,
	)
	out := buf.String()
	for i := 0; i+MinPartialLen <= len(key); i++ {
		w := key[i : i+MinPartialLen]
		for name, enc := range encodings {
			if name == "url error" || name == "quoted url error raw" || name == "json of go quoted" {
				continue
			}
			if strings.Contains(out, enc(w)) {
				t.Fatalf("log record %s holds %q (%s form %q)", out, w, name, enc(w))
			}
		}
	}
	for _, want := range []string{`"int":42`, `"msg":"message ***"`, `"string":"***"`, `"grp":{`, `"with":"attr ***"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log record %s lacks %s", out, want)
		}
	}
	if !log.Enabled(context.Background(), slog.LevelDebug) || slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), s)).Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled does not follow the next handler")
	}
}

func TestHandlerKeepsCleanValues(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil), NewSecrets("not-in-the-record-0123")))
	log.Info("m", "err", errors.New("plain"), "n", 3, "list", []int{1, 2})
	if got := buf.String(); !strings.Contains(got, `"err":"plain"`) || !strings.Contains(got, `"list":[1,2]`) {
		t.Errorf("clean record changed: %s", got)
	}
}
