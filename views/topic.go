package views

import (
	"context"
	"html"
	"io"
	"strings"

	"github.com/a-h/templ"
)

// Topic is an MQTT topic that a narrow screen wraps after a "/" (a <wbr>
// after each), never inside a product key or device name.
func Topic(topic string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		parts := strings.Split(topic, "/")
		for i, p := range parts {
			if i > 0 {
				p = "/<wbr>" + html.EscapeString(p)
			} else {
				p = html.EscapeString(p)
			}
			if _, err := io.WriteString(w, p); err != nil {
				return err
			}
		}
		return nil
	})
}
