package views

import (
	"github.com/a-h/templ"

	"fleettasks/models"
)

// targetTypes are the task list's choices of target type.
var targetTypes = []struct{ value, label string }{
	{models.TargetDeviceList, "Devices"}, {models.TargetProduct, "Product"}, {models.TargetGroup, "Group"},
}

// listNav makes a link of the task list (a column header, the pager)
// replace only the results and push its URL, as the filter form does.
func listNav(q TaskListQuery) templ.Attributes {
	return templ.Attributes{"hx-get": q.URL(), "hx-target": "#task-results", "hx-select": "#task-results",
		"hx-swap": "outerHTML", "hx-push-url": "true"}
}

// ariaSort is the aria-sort of the sorted column.
func ariaSort(s models.TaskSort) string {
	if s.Asc {
		return "ascending"
	}
	return "descending"
}

// sortArrow shows the sorted column's order.
func sortArrow(s models.TaskSort) string {
	if s.Asc {
		return "▲"
	}
	return "▼"
}

// anyCancellable reports whether a task of the page can be cancelled
// (Task.CanCancel): the bulk cancel is offered only then.
func anyCancellable(tasks []models.Task) bool {
	for i := range tasks {
		if tasks[i].CanCancel() == nil {
			return true
		}
	}
	return false
}
