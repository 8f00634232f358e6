package handlers

import (
	"context"
	"io"
	"time"

	"fleettasks/models"
)

// consoleTasks is what the console uses of models.Tasks.
type consoleTasks interface {
	CreateTask(ctx context.Context, in models.TaskInput) (*models.Task, error)
	ListTasks(ctx context.Context, f models.TaskFilter, p models.Page) (models.List[models.Task], error)
	StatisticsOf(ctx context.Context, ids []models.ID) (map[models.ID]*models.Statistics, error)
	GetTask(ctx context.Context, id models.ID) (*models.Task, error)
	TaskDevices(ctx context.Context, id models.ID) ([]models.DeviceRef, error)
	Statistics(ctx context.Context, id models.ID) (*models.Statistics, error)
	PatchTask(ctx context.Context, id models.ID, p models.TaskPatch) (*models.Task, error)
	CancelTask(ctx context.Context, id models.ID) (*models.Task, error)
	RerunTask(ctx context.Context, id models.ID) (*models.Task, error)
	DeleteTask(ctx context.Context, id models.ID) error
	ListSubtasks(ctx context.Context, taskID models.ID, f models.SubtaskFilter, p models.Page) (models.List[models.Subtask], error)
	GetSubtask(ctx context.Context, taskID, id models.ID) (*models.Subtask, error)
	Attempts(ctx context.Context, taskID, id models.ID) ([]models.Attempt, error)
	Timeline(ctx context.Context, task *models.Task, buckets int) (*models.Timeline, error)
	TaskEvents(ctx context.Context, id models.ID, p models.Page, newestFirst bool) (models.List[models.TaskEvent], error)
	PauseTask(ctx context.Context, id models.ID) (*models.Task, error)
	ResumeTask(ctx context.Context, id models.ID) (*models.Task, error)
	ApproveWave(ctx context.Context, id models.ID, n int) (*models.Task, error)
	DeviceSubtasks(ctx context.Context, pk, dn string, p models.Page) (models.List[models.Subtask], error)
	CreateTemplate(ctx context.Context, in models.TemplateInput) (*models.Template, error)
	GetTemplate(ctx context.Context, id models.ID) (*models.Template, error)
	ListTemplates(ctx context.Context, q string, p models.Page) (models.List[models.Template], error)
	DeleteTemplate(ctx context.Context, id models.ID) error
	TaskVersions(ctx context.Context, ids []models.ID) (map[models.ID]models.TaskVersion, error)
	NewDraft(ctx context.Context, user models.ID, form map[string]string) (*models.Draft, error)
	GetDraft(ctx context.Context, user models.ID, id string) (*models.Draft, error)
	SaveDraft(ctx context.Context, user models.ID, id string, step int, form map[string]string) (bool, error)
}

// consoleRegistry is what the console uses of models.Registry.
type consoleRegistry interface {
	ListProducts(ctx context.Context, pg models.Page) ([]models.Product, int64, error)
	ListGroups(ctx context.Context, pg models.Page) ([]models.Group, int64, error)
	ListDevices(ctx context.Context, f models.DeviceFilter, pg models.Page) ([]models.Device, int64, error)
	ListDeviceMessages(ctx context.Context, pk, dn string, f models.MessageFilter, pg models.Page) ([]models.Message, int64, error)
	OfflineAfter() time.Duration
	ConnectionState() bool
	GetDevice(ctx context.Context, pk, dn string) (*models.Device, error)
	CreateProduct(ctx context.Context, in models.ProductInput) (*models.Product, error)
	GetProduct(ctx context.Context, pk string) (*models.Product, error)
	CreateGroup(ctx context.Context, in models.GroupInput) (*models.Group, error)
	GetGroup(ctx context.Context, id models.ID) (*models.Group, error)
	RenameGroup(ctx context.Context, id models.ID, name string) (*models.Group, error)
	AddGroupDevices(ctx context.Context, id models.ID, refs []models.DeviceRef) (int64, error)
	RemoveGroupDevices(ctx context.Context, id models.ID, refs []models.DeviceRef) (int64, error)
	PreviewGroupQuery(ctx context.Context, query string, limit int) ([]models.Device, int64, error)
	CreateDevices(ctx context.Context, pk string, names []string) ([]models.Device, error)
	ImportDevices(ctx context.Context, csv io.Reader) (models.ImportResult, error)
	DeleteDevice(ctx context.Context, pk, dn string) error
	RotateDeviceSecret(ctx context.Context, pk, dn string) (string, error)
	DeviceSubtaskCounts(ctx context.Context, id models.ID) (*models.Statistics, error)
	DeviceGroups(ctx context.Context, d *models.Device) ([]models.Group, error)
	DeviceMessagePage(ctx context.Context, id models.ID, f models.MessageFilter, cursor *models.MessageCursor, size int) ([]models.Message, *models.MessageCursor, error)
}

// console serves the HTML pages of the tasks (the console of step 3).
type console struct {
	tasks    consoleTasks
	registry consoleRegistry
	files    fileLibrary
	live     *liveHub // the live pages' streams
}

func newConsole(tasks consoleTasks, registry consoleRegistry, files fileLibrary, live *liveHub) *console {
	return &console{tasks: tasks, registry: registry, files: files, live: live}
}
