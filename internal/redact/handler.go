package redact

import (
	"context"
	"fmt"
	"log/slog"
)

// Handler is a [slog.Handler] that passes every record's message and
// attributes through [Secrets.String] before handing the record on, as a
// ReplaceAttr function would: string values, errors (as their masked
// text), values a [slog.LogValuer] resolves to, groups, and attributes
// added with WithAttrs. An error or any other value whose text holds no
// secret is passed on unchanged, so that a JSON handler still sees its
// type.
type Handler struct {
	next    slog.Handler
	secrets *Secrets
}

// NewHandler returns a handler that masks s in every record before next
// handles it.
func NewHandler(next slog.Handler, s *Secrets) *Handler {
	return &Handler{next: next, secrets: s}
}

// Enabled reports whether the next handler handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle masks r and hands it to the next handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.secrets.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs masks attrs and returns a handler whose records carry them.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(clean), secrets: h.secrets}
}

// WithGroup returns a handler that opens group name.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), secrets: h.secrets}
}

func (h *Handler) attr(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(h.secrets.String(a.Value.String()))
	case slog.KindGroup:
		group := a.Value.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		a.Value = slog.GroupValue(clean...)
	case slog.KindAny:
		text := fmt.Sprintf("%+v", a.Value.Any()) // an error's text; fmt survives a nil receiver
		if clean := h.secrets.String(text); clean != text {
			a.Value = slog.StringValue(clean)
		}
	}
	return a
}
