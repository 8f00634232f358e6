package views

import "fleettasks/models"

// TemplatesURL is the template list with its name filter.
func TemplatesURL(q string, page int) string {
	p := ""
	if page > 1 {
		p = itoa(page)
	}
	return withQuery("/templates", "q", q, "page", p)
}

// TemplateURL is a template's page.
func TemplateURL(id models.ID) string { return "/templates/" + id.String() }

// TemplateDeleteURL deletes a template (POST).
func TemplateDeleteURL(id models.ID) string { return TemplateURL(id) + "/delete" }

// TaskNewFromTemplateURL is the create form filled in from a template.
func TaskNewFromTemplateURL(id models.ID) string {
	return withQuery(TaskNewURL(), "template", id.String())
}

// TaskSaveTemplateURL saves a task's settings as a template (POST).
func TaskSaveTemplateURL(id models.ID) string { return TaskURL(id) + "/template" }
