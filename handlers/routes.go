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
}
