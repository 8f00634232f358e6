package views

import (
	"context"

	"fleettasks/models"
)

// Viewer is the signed-in user a page is rendered for, and the CSRF token
// its forms send back.
type Viewer struct {
	Email string
	Role  models.Role
	CSRF  string
}

type viewerKey struct{}

// WithViewer puts v in ctx for the components rendered with it.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// ViewerOf returns the viewer in ctx (the zero Viewer when signed out).
func ViewerOf(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// can reports whether the viewer may do what p names; buttons the viewer
// may not use are not shown (the routes refuse them anyway).
func can(ctx context.Context, p models.Permission) bool {
	return ViewerOf(ctx).Role.Can(p)
}

// CSRFField is the name of the hidden form field with the CSRF token (htmx
// requests send it in the X-Csrf-Token header instead).
const CSRFField = "_csrf"

// IdempotencyField is the one-time key of the create form and of the task
// list's Cancel selected: the form sent twice (a double click, a resubmit)
// creates one task, or cancels once.
const IdempotencyField = "_once"
