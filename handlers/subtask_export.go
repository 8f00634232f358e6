package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// exportPageSize is the rows read per query of a CSV export.
const exportPageSize = 1000

// GET /tasks/:id/subtasks.csv?status=&q= — the sub-tasks as CSV, streamed:
// keyset pages of 1,000 written as they are read.
func (h *console) subtaskExport(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := subtaskFilter(c)
	if err != nil {
		return err
	}
	// fail before the headers are sent when the task does not exist
	if _, err := h.tasks.Statistics(c.UserContext(), id); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="task-`+id.String()+`-subtasks.csv"`)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		cw := csv.NewWriter(w)
		cw.Write([]string{"id", "productKey", "deviceName", "status", "progress", "attempt", "message",
			"statusDetails", "queuedAt", "sentAt", "startedAt", "finishedAt", "updatedAt"})
		for {
			list, err := h.tasks.ListSubtasks(ctx, id, f, models.Page{Number: 1, Size: exportPageSize})
			if err != nil {
				cw.Write([]string{"# export stopped: " + err.Error()})
				break
			}
			for _, s := range list.Items {
				cw.Write([]string{s.ID.String(), s.ProductKey, s.DeviceName, string(s.Status), strconv.Itoa(s.Progress),
					strconv.Itoa(s.Attempt), s.Message, string(s.StatusDetails), csvTime(&s.QueuedAt), csvTime(s.SentAt),
					csvTime(s.StartedAt), csvTime(s.FinishedAt), csvTime(&s.UpdatedAt)})
			}
			cw.Flush()
			if cw.Error() != nil || w.Flush() != nil || len(list.Items) < exportPageSize {
				break
			}
			f.After = list.Items[len(list.Items)-1].ID
		}
		cw.Flush()
	})
	return nil
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
