package handlers

import "github.com/gofiber/fiber/v2"

// routes is the one route table.
func routes(app *fiber.App, d Deps) {
	app.Get("/healthz", healthz)
	app.Get("/readyz", readyz(d.Ready))
	app.Get("/metrics", metricsHandler())

	api := app.Group("/api/v1", authenticate)

	// --- files ---
	files := newAPIFiles(d.Files)
	api.Post("/files", files.upload)
	api.Get("/files", files.list)
	api.Get("/files/:id", files.get)
	api.Get("/files/:id/content", files.content)
	app.Get("/download/files/:id", newFileDownload(d.Files).serve) // devices: signed URL, no token

	// --- registry: products, devices, groups ---
	products := newAPIProducts(d.Registry)
	api.Post("/products", products.create)
	api.Get("/products", products.list)
	api.Get("/products/:pk", products.get)
	api.Post("/products/:pk/devices", products.createDevices)
	devices := newAPIDevices(d.Registry)
	api.Get("/devices", devices.list)
	api.Get("/devices/:pk/:dn", devices.get)
	api.Get("/devices/:pk/:dn/messages", devices.messages)
	groups := newAPIGroups(d.Registry)
	api.Post("/groups", groups.create)
	api.Get("/groups", groups.list)
	api.Get("/groups/:id", groups.get)
	api.Post("/groups/:id/devices", groups.addDevices)

	// --- tasks ---
	tasks := newAPITasks(d.Tasks)
	api.Post("/tasks", tasks.create)
	api.Get("/tasks", tasks.list)
	api.Get("/tasks/:id", tasks.get)
	api.Patch("/tasks/:id", tasks.patch)
	api.Get("/tasks/:id/statistics", tasks.statistics)
	api.Get("/tasks/:id/subtasks", tasks.subtasks)
	api.Get("/tasks/:id/document", tasks.document)
	api.Post("/tasks/:id/cancel", tasks.cancel)
	api.Post("/tasks/:id/rerun", tasks.rerun)
	api.Delete("/tasks/:id", tasks.delete)
	api.Get("/devices/:pk/:dn/subtasks", tasks.deviceSubtasks)

	// --- console ---
	app.Get("/static/:name", static)
	ui := app.Group("", authenticate)
	con := newConsole(d.Tasks, d.Registry, d.Files)
	ui.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/tasks", fiber.StatusFound) })
	ui.Get("/tasks", con.taskList)
	ui.Get("/tasks/new", con.taskNew)
	ui.Post("/tasks/new", con.taskCreate)
	ui.Get("/tasks/:id", con.taskShow)
	ui.Get("/tasks/:id/summary", con.taskSummary)
	ui.Get("/tasks/:id/edit/:part", con.taskEditForm)
	ui.Post("/tasks/:id/edit/:part", con.taskEdit)
	ui.Post("/tasks/:id/cancel", con.taskCancel)
	ui.Post("/tasks/:id/rerun", con.taskRerun)
	ui.Post("/tasks/:id/delete", con.taskDelete)
	ui.Get("/tasks/:id/subtasks.csv", con.subtaskExport)
	ui.Get("/tasks/:id/subtasks", con.subtaskList)
	ui.Get("/tasks/:id/subtasks/:sid", con.subtaskShow)
	ui.Get("/devices", con.deviceList)
	ui.Post("/devices", con.deviceCreate)
	ui.Get("/devices/import", con.deviceImportForm)
	ui.Post("/devices/import", con.deviceImport)
	ui.Get("/devices/:pk/:dn", con.deviceShow)
	ui.Get("/devices/:pk/:dn/tasks", con.deviceTasks)
	ui.Get("/devices/:pk/:dn/log", con.deviceLog)
	ui.Post("/devices/:pk/:dn/delete", con.deviceDelete)
	ui.Get("/products", con.productList)
	ui.Post("/products", con.productCreate)
	ui.Get("/products/:pk", con.productShow)
	ui.Get("/groups", con.groupList)
	ui.Post("/groups", con.groupCreate)
	ui.Get("/groups/preview", con.groupPreview)
	ui.Get("/groups/:id", con.groupShow)
	ui.Post("/groups/:id/devices/add", con.groupAddDevices)
	ui.Post("/groups/:id/devices/remove", con.groupRemoveDevices)
	ui.Post("/console/files", con.fileUpload)
	ui.Get("/console/devices/search", con.deviceSearch)
	ui.Get("/console/rule-template.json", ruleTemplate)
}
