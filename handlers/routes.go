package handlers

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"fleettasks/models"
)

// routeSet registers routes behind one authentication: each route says
// which permission it needs (models.Role.Can decides) and, for a change,
// the audit action it records and the largest body it takes.
type routeSet struct {
	r     fiber.Router
	auth  []fiber.Handler
	guard guard
	// once, when set, makes the set's POSTs idempotent (streamed: the
	// route's handler reads the body as a stream)
	once func(streamed bool) fiber.Handler
}

// get is a read: any role with p.
func (s routeSet) get(path string, p models.Permission, h fiber.Handler) {
	s.r.Get(path, slices.Concat(s.auth, []fiber.Handler{allow(p), h})...)
}

// post is a read sent as a POST, for what does not fit in a URL: any role
// with p, refused over smallBody, not audited.
func (s routeSet) post(path string, p models.Permission, h fiber.Handler) {
	s.r.Post(path, slices.Concat([]fiber.Handler{limitBody(smallBody)}, s.auth, []fiber.Handler{allow(p), h})...)
}

// change is a state-changing route: refused over maxBody bytes, allowed
// to roles with p, recorded in the audit log as action when it succeeds.
func (s routeSet) change(method, path string, p models.Permission, action string, maxBody int, h fiber.Handler) {
	chain := slices.Concat([]fiber.Handler{limitBody(maxBody)}, s.auth)
	if s.once != nil && method == fiber.MethodPost {
		chain = append(chain, s.once(maxBody > largeBody))
	}
	s.r.Add(method, path, append(chain, s.guard.act(p, action), h)...)
}

// Request body limits by kind of route.
const (
	brokerBody = 4 << 10                       // a broker's question about one client
	smallBody  = 64 << 10                      // sign-in, buttons, short forms
	largeBody  = maxJSONBody                   // JSON calls, forms with device lists
	importBody = models.MaxImportBytes + 1<<20 // a CSV of devices with its multipart framing
	uploadBody = MaxUpload                     // rule files and firmware
)

// routes is the one route table.
func routes(app *fiber.App, d Deps) {
	app.Get("/healthz", healthz)
	app.Get("/readyz", readyz(d.Ready))
	app.Get("/metrics", metricsHandler())
	app.Get("/static/:name", static)
	app.Get("/favicon.ico", favicon)                               // for clients that ask without reading the page's icon link
	app.Get("/download/files/:id", newFileDownload(d.Files).serve) // devices: signed URL, no account
	// an EMQX broker's HTTP authenticator and authorizer: the shared secret, no session
	su, sp := d.Config.MQTTCredentials()
	emqx := newBrokerEMQX(d.Config.BrokerHTTPSecret, d.Registry, su, sp, d.Log)
	app.Post("/broker/emqx/auth", limitBody(brokerBody), emqx.auth)
	app.Post("/broker/emqx/acl", limitBody(brokerBody), emqx.acl)

	g := guard{audit: d.Audit, log: d.Log}
	const (
		view     = models.PermView
		tasks    = models.PermTasksWrite
		del      = models.PermTasksDelete
		registry = models.PermRegistryWrite
		files    = models.PermFilesWrite
		admin    = models.PermAdmin
		get      = fiber.MethodGet
		post     = fiber.MethodPost
		patch    = fiber.MethodPatch
		remove   = fiber.MethodDelete
	)

	// --- JSON API: API tokens ---
	once := idempotency{store: models.NewIdempotency(d.DB, 0), wait: 30 * time.Second, log: d.Log}
	api := routeSet{r: app.Group("/api/v1"), auth: []fiber.Handler{apiAuth(d.Accounts)}, guard: g, once: once.header}
	af := newAPIFiles(d.Files)
	api.change(post, "/files", files, "file.upload", uploadBody, af.upload)
	api.get("/files", view, af.list)
	api.get("/files/:id", view, af.get)
	api.get("/files/:id/content", view, af.content)
	api.change(remove, "/files/:id", files, "file.delete", smallBody, af.remove)

	ap := newAPIProducts(d.Registry)
	api.change(post, "/products", registry, "product.create", largeBody, ap.create)
	api.get("/products", view, ap.list)
	api.get("/products/:pk", view, ap.get)
	api.change(post, "/products/:pk/devices", registry, "device.create", maxDeviceListBody, ap.createDevices)
	ad := newAPIDevices(d.Registry)
	api.get("/devices", view, ad.list)
	api.change(post, "/devices/import", registry, "device.import", importBody, ad.importCSV)
	api.get("/devices/:pk/:dn", view, ad.get)
	api.get("/devices/:pk/:dn/messages", view, ad.messages)
	api.change(post, "/devices/:pk/:dn/secret", registry, "device.rotate_secret", smallBody, ad.rotateSecret)
	ag := newAPIGroups(d.Registry)
	api.change(post, "/groups", registry, "group.create", largeBody, ag.create)
	api.get("/groups", view, ag.list)
	api.get("/groups/:id", view, ag.get)
	api.change(patch, "/groups/:id", registry, "group.rename", largeBody, ag.rename)
	api.change(post, "/groups/:id/devices", registry, "group.add_devices", maxDeviceListBody, ag.addDevices)

	at := newAPITasks(d.Tasks)
	api.change(post, "/tasks", tasks, "task.create", largeBody, at.create)
	api.get("/tasks", view, at.list)
	api.get("/tasks/:id", view, at.get)
	api.change(patch, "/tasks/:id", tasks, "task.update", largeBody, at.patch)
	api.get("/tasks/:id/statistics", view, at.statistics)
	api.get("/tasks/:id/events", view, at.events)
	api.get("/tasks/:id/subtasks", view, at.subtasks)
	api.get("/tasks/:id/subtasks/:sid", view, at.subtask)
	api.get("/tasks/:id/document", view, at.document)
	api.change(post, "/tasks/:id/cancel", tasks, "task.cancel", smallBody, at.cancel)
	api.change(post, "/tasks/:id/rerun", tasks, "task.rerun", smallBody, at.rerun)
	api.change(post, "/tasks/:id/pause", tasks, "task.pause", smallBody, at.pause)
	api.change(post, "/tasks/:id/resume", tasks, "task.resume", smallBody, at.resume)
	api.change(post, "/tasks/:id/waves/:n/approve", tasks, "task.approve_wave", smallBody, at.approveWave)
	api.change(remove, "/tasks/:id", del, "task.delete", smallBody, at.delete)
	api.get("/devices/:pk/:dn/subtasks", view, at.deviceSubtasks)

	atp := newAPITemplates(d.Tasks)
	api.change(post, "/templates", tasks, "template.create", largeBody, atp.create)
	api.get("/templates", view, atp.list)
	api.get("/templates/:id", view, atp.get)
	api.change(patch, "/templates/:id", tasks, "template.update", largeBody, atp.patch)
	api.change(remove, "/templates/:id", del, "template.delete", smallBody, atp.remove)

	au := newAPIAccounts(d.Accounts, d.Audit)
	api.get("/me", view, au.me)
	api.get("/users", admin, au.listUsers)
	api.change(post, "/users", admin, "user.create", smallBody, au.createUser)
	api.get("/users/:id", admin, au.getUser)
	api.change(patch, "/users/:id", admin, "user.update", smallBody, au.updateUser)
	api.get("/users/:id/tokens", admin, au.listTokens)
	api.change(post, "/users/:id/tokens", admin, "token.create", smallBody, au.createToken)
	api.change(remove, "/tokens/:id", admin, "token.revoke", smallBody, au.revokeToken)
	api.get("/audit", admin, au.listAudit)

	hooks := d.Webhooks
	if hooks == nil {
		hooks = models.NewWebhooks(d.DB)
	}
	aw := newAPIWebhooks(hooks)
	api.get("/webhooks", admin, aw.list)
	api.change(post, "/webhooks", admin, "webhook.create", smallBody, aw.create)
	api.get("/webhooks/:id", admin, aw.get)
	api.change(patch, "/webhooks/:id", admin, "webhook.update", smallBody, aw.patch)
	api.change(remove, "/webhooks/:id", admin, "webhook.delete", smallBody, aw.remove)
	api.get("/webhooks/:id/deliveries", admin, aw.deliveries)
	api.change(post, "/webhooks/:id/test", admin, "webhook.test", smallBody, aw.test)

	// --- console: a session cookie and a CSRF token ---
	csrf := newCSRFKeys(d.Config.Secret, d.Config.PublicURL)
	in := &signIn{acc: d.Accounts, guard: g, publicURL: d.Config.PublicURL, maxAge: d.Accounts.MaxAge()}
	app.Get("/login", csrf.signIn(), in.form)
	app.Post("/login", limitBody(smallBody), csrf.signIn(), in.login)
	app.Post("/logout", limitBody(smallBody), sessionAuth(d.Accounts), csrf.session(), in.logout)

	ui := routeSet{r: app, auth: []fiber.Handler{sessionAuth(d.Accounts), csrf.session()}, guard: g}
	live := newLiveHub(d.Tasks, liveEvery, d.Config.SSEMaxStreams, d.Log)
	con := newConsole(d.Tasks, d.Registry, d.Files, live)
	ov := newOverview(d.Tasks, d.Registry)
	ui.get("/", view, ov.show)
	ui.get("/failures", view, ov.failures)
	ui.get("/tasks", view, con.taskList)
	ui.get("/tasks/events", view, con.tasksEvents) // live streams (server-sent events)
	ui.get("/tasks/live", view, con.tasksLiveUpdate)
	ui.get("/tasks/new", tasks, con.taskNew)
	// the create form and the list's Cancel selected carry a one-time key:
	// a double submit creates one task, or cancels once
	uiOnce := ui
	uiOnce.once = func(bool) fiber.Handler { return once.formField() }
	uiOnce.change(post, "/tasks/new", tasks, "task.create", largeBody, con.taskCreate)
	uiOnce.change(post, "/tasks/cancel", tasks, "task.cancel", smallBody, con.tasksCancel) // the tasks ticked in the list
	ui.get("/tasks/:id", view, con.taskShow)
	ui.get("/tasks/:id/summary", view, con.taskSummary)
	ui.get("/tasks/:id/events", view, con.taskEvents)
	ui.get("/tasks/:id/live", view, con.taskLiveUpdate)
	ui.get("/tasks/:id/chart", view, con.taskChart)
	ui.get("/tasks/:id/timeline", view, con.taskTimelinePage)
	ui.get("/tasks/:id/document", view, at.document)
	ui.get("/tasks/:id/edit/:part", tasks, con.taskEditForm)
	ui.change(post, "/tasks/:id/edit/:part", tasks, "task.update", smallBody, con.taskEdit)
	ui.change(post, "/tasks/:id/cancel", tasks, "task.cancel", smallBody, con.taskCancel)
	ui.change(post, "/tasks/:id/rerun", tasks, "task.rerun", smallBody, con.taskRerun)
	ui.change(post, "/tasks/:id/pause", tasks, "task.pause", smallBody, con.taskPause)
	ui.change(post, "/tasks/:id/resume", tasks, "task.resume", smallBody, con.taskResume)
	ui.change(post, "/tasks/:id/waves/:n/approve", tasks, "task.approve_wave", smallBody, con.taskApproveWave)
	ui.change(post, "/tasks/:id/delete", del, "task.delete", smallBody, con.taskDelete)
	ui.get("/tasks/:id/subtasks.csv", tasks, con.subtaskExport)
	ui.get("/tasks/:id/subtasks", view, con.subtaskList)
	ui.get("/tasks/:id/subtasks/:sid", view, con.subtaskShow)
	ui.change(post, "/tasks/:id/template", tasks, "template.create", smallBody, con.taskSaveTemplate)
	ui.get("/templates", view, con.templateList)
	ui.get("/templates/:id", view, con.templateShow)
	ui.change(post, "/templates/:id/delete", del, "template.delete", smallBody, con.templateDelete)
	ui.get("/devices", view, con.deviceList)
	ui.change(post, "/devices", registry, "device.create", smallBody, con.deviceCreate)
	ui.get("/devices/import", registry, con.deviceImportForm)
	ui.change(post, "/devices/import", registry, "device.import", importBody, con.deviceImport)
	ui.get("/devices/:pk/:dn", view, con.deviceShow)
	ui.get("/devices/:pk/:dn/tasks", view, con.deviceTasks)
	ui.get("/devices/:pk/:dn/log", view, con.deviceLog)
	ui.change(post, "/devices/:pk/:dn/delete", registry, "device.delete", smallBody, con.deviceDelete)
	ui.change(post, "/devices/:pk/:dn/secret", registry, "device.rotate_secret", smallBody, con.deviceSecret)
	ui.get("/products", view, con.productList)
	ui.change(post, "/products", registry, "product.create", smallBody, con.productCreate)
	ui.get("/products/:pk", view, con.productShow)
	ui.get("/groups", view, con.groupList)
	ui.change(post, "/groups", registry, "group.create", smallBody, con.groupCreate)
	ui.post("/tasks/new/policy", tasks, con.policyPreview)
	ui.get("/console/firmware", tasks, con.firmwareSearch)
	ui.post("/tasks/new/draft", tasks, con.taskDraftSave)
	ui.post("/groups/preview", view, con.groupPreview) // the query in the body: up to 4,000 characters
	ui.get("/groups/:id", view, con.groupShow)
	ui.change(post, "/groups/:id/rename", registry, "group.rename", smallBody, con.groupRename)
	ui.change(post, "/groups/:id/devices/add", registry, "group.add_devices", largeBody, con.groupAddDevices)
	ui.change(post, "/groups/:id/devices/remove", registry, "group.remove_devices", largeBody, con.groupRemoveDevices)
	ui.get("/files", view, con.fileList)
	ui.change(post, "/files", files, "file.upload", uploadBody, con.fileCreate)
	ui.get("/files/:id", view, con.fileShow)
	// downloads under the session (the API's take tokens only)
	ui.get("/files/:id/content", view, af.content)
	ui.change(post, "/files/:id/delete", files, "file.delete", smallBody, con.fileDelete)
	ui.change(post, "/console/files", files, "file.upload", uploadBody, con.fileUpload)
	ui.get("/console/devices/search", view, con.deviceSearch)
	ui.get("/console/rule-template.json", view, ruleTemplate)

	adm := newAdminPages(d.Accounts, d.Audit)
	ui.get("/users", admin, adm.userList)
	ui.change(post, "/users", admin, "user.create", smallBody, adm.userCreate)
	ui.get("/users/:id", admin, adm.userShow)
	ui.change(post, "/users/:id", admin, "user.update", smallBody, adm.userUpdate)
	ui.change(post, "/users/:id/password", admin, "user.reset_password", smallBody, adm.userPassword)
	ui.change(post, "/users/:id/tokens", admin, "token.create", smallBody, adm.tokenCreate)
	ui.change(post, "/tokens/:id/revoke", admin, "token.revoke", smallBody, adm.tokenRevoke)
	ui.get("/audit", admin, adm.auditList)

	wh := newWebhookPages(hooks)
	ui.get("/webhooks", admin, wh.list)
	ui.change(post, "/webhooks", admin, "webhook.create", smallBody, wh.create)
	ui.get("/webhooks/:id", admin, wh.show)
	ui.get("/webhooks/:id/deliveries", admin, wh.deliveries)
	ui.change(post, "/webhooks/:id", admin, "webhook.update", smallBody, wh.update)
	ui.change(post, "/webhooks/:id/secret", admin, "webhook.rotate_secret", smallBody, wh.rotate)
	ui.change(post, "/webhooks/:id/test", admin, "webhook.test", smallBody, wh.test)
	ui.change(post, "/webhooks/:id/delete", admin, "webhook.delete", smallBody, wh.remove)
}
