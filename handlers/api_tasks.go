package handlers

import (
	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// apiTasks serves /api/v1/tasks.
type apiTasks struct {
	tasks *models.Tasks
}

func newAPITasks(tasks *models.Tasks) *apiTasks { return &apiTasks{tasks: tasks} }

func (h *apiTasks) create(c *fiber.Ctx) error {
	var in models.TaskInput
	if err := bodyJSON(c, &in); err != nil {
		return err
	}
	task, err := h.tasks.CreateTask(c.UserContext(), in)
	if err != nil {
		return err
	}
	auditTask(c, task.ID, "", task.Name)
	return c.Status(fiber.StatusCreated).JSON(task)
}

func (h *apiTasks) list(c *fiber.Ctx) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	sort, err := models.ParseTaskSort(c.Query("sort"), c.Query("order"))
	if err != nil {
		return err
	}
	list, err := h.tasks.ListTasks(c.UserContext(), models.TaskFilter{
		Status: c.Query("status"), Q: c.Query("q"), ProductKey: c.Query("productKey"), TargetType: c.Query("targetType"), Sort: sort,
	}, p)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

func (h *apiTasks) get(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(task)
}

func (h *apiTasks) patch(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var p models.TaskPatch
	if err := bodyJSON(c, &p); err != nil {
		return err
	}
	before, err := h.tasks.GetTask(c.UserContext(), id)
	if err != nil {
		return err
	}
	task, err := h.tasks.PatchTask(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	auditChanges(c, taskChanges(before, task))
	return c.JSON(task)
}

func (h *apiTasks) statistics(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	s, err := h.tasks.Statistics(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(s)
}

func (h *apiTasks) document(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	doc, err := h.tasks.Document(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="task-`+id.String()+`-document.json"`)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(doc)
}
