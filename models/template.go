package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Template is a task's settings saved under a name (docs/api.md,
// "Templates"): all of a task but its name, target and start, to create
// tasks from in one step.
type Template struct {
	ID          ID     `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// JobDocument is the document inline; nil with RuleFileID.
	JobDocument RawJSON `json:"jobDocument"`
	RuleFileID  *ID     `json:"ruleFileId"`
	// RuleFileName is the name of the rule file, when there is one.
	RuleFileName             string    `json:"-"`
	JobFile                  *JobFile  `json:"jobFile"`
	QoS                      int       `json:"qos"`
	InProgressTimeoutMinutes *int      `json:"inProgressTimeoutMinutes"`
	RolloutPerMinute         int       `json:"rolloutPerMinute"`
	Policy                   *Policy   `json:"policy"`
	CreatedAt                time.Time `json:"createdAt"`
	UpdatedAt                time.Time `json:"updatedAt"`
}

// TemplateInput is a template as a client sends it: the fields of a
// task's create request (TaskInput) that a template keeps, and its name.
type TemplateInput struct {
	Name                     string          `json:"name"`
	Description              string          `json:"description"`
	JobDocument              json.RawMessage `json:"jobDocument"`
	RuleFileID               *ID             `json:"ruleFileId"`
	JobFile                  *JobFileInput   `json:"jobFile"`
	QoS                      *int            `json:"qos"`
	InProgressTimeoutMinutes *int            `json:"inProgressTimeoutMinutes"`
	RolloutPerMinute         *int            `json:"rolloutPerMinute"`
	Policy                   *Policy         `json:"policy"`
}

// templateFields are the fields of a template body, in the order of
// TemplateInput.
var templateFields = []string{"name", "description", "jobDocument", "ruleFileId", "jobFile", "qos",
	"inProgressTimeoutMinutes", "rolloutPerMinute", "policy"}

// plan checks the template as CreateTask checks the same fields of a task
// (TaskInput.validate, the target a stand-in), with the same field names
// in its errors, and fills the defaults.
func (in TemplateInput) plan(now time.Time) (*taskPlan, error) {
	return TaskInput{Name: in.Name, Description: in.Description, Target: TargetInput{Type: TargetGroup, GroupID: 1},
		JobDocument: in.JobDocument, RuleFileID: in.RuleFileID, JobFile: in.JobFile, RolloutPerMinute: in.RolloutPerMinute,
		QoS: in.QoS, InProgressTimeoutMinutes: in.InProgressTimeoutMinutes, Policy: in.Policy}.validate(now)
}

// Input is the template as a create request.
func (tpl *Template) Input() TemplateInput {
	in := TemplateInput{Name: tpl.Name, Description: tpl.Description, RuleFileID: tpl.RuleFileID,
		QoS: ptr(tpl.QoS), InProgressTimeoutMinutes: tpl.InProgressTimeoutMinutes,
		RolloutPerMinute: ptr(tpl.RolloutPerMinute), Policy: tpl.Policy}
	if len(tpl.JobDocument) > 0 {
		in.JobDocument = json.RawMessage(tpl.JobDocument)
	}
	if tpl.JobFile != nil {
		in.JobFile = &JobFileInput{FileID: tpl.JobFile.FileID, SignMethod: tpl.JobFile.SignMethod}
	}
	return in
}

// TemplateOf is a template of task's settings, named name: its rule file
// when it has one (else its job document), its task file, QoS, timeout,
// rate and rollout policy.
func TemplateOf(task *Task, name string) TemplateInput {
	in := TemplateInput{Name: name, Description: task.Description, RuleFileID: task.RuleFileID,
		QoS: ptr(task.QoS), InProgressTimeoutMinutes: task.InProgressTimeoutMinutes,
		RolloutPerMinute: ptr(task.RolloutPerMinute), Policy: task.Policy}
	if task.RuleFileID == nil {
		in.JobDocument = json.RawMessage(task.JobDocument)
	}
	if task.JobFile != nil {
		in.JobFile = &JobFileInput{FileID: task.JobFile.FileID, SignMethod: task.JobFile.SignMethod}
	}
	return in
}

// TemplatePatch is a PATCH of a template: each field given replaces the
// template's, null removes an optional one (jobFile,
// inProgressTimeoutMinutes, policy) or restores a default (qos,
// rolloutPerMinute); jobDocument and ruleFileId replace each other.
type TemplatePatch struct {
	fields map[string]json.RawMessage
}

// UnmarshalJSON reads a patch, refusing fields a template does not have.
func (p *TemplatePatch) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Invalid("", "the body must be a JSON object: %v", err)
	}
	for k := range m {
		if !slices.Contains(templateFields, k) {
			return Invalid(k, "is not a field of a template; a template has %s", strings.Join(templateFields, ", "))
		}
	}
	p.fields = m
	return nil
}

// apply writes the patch's fields over in, in the order of templateFields.
func (p TemplatePatch) apply(in *TemplateInput) error {
	_, doc := p.fields["jobDocument"]
	_, rule := p.fields["ruleFileId"]
	if doc || rule { // one replaces the other
		in.JobDocument, in.RuleFileID = nil, nil
	}
	var err error
	for _, k := range templateFields {
		raw, ok := p.fields[k]
		if !ok {
			continue
		}
		switch k {
		case "name":
			err = decodeField(k, raw, &in.Name)
		case "description":
			err = decodeField(k, raw, &in.Description)
		case "jobDocument":
			in.JobDocument = raw
		case "ruleFileId":
			err = decodeField(k, raw, &in.RuleFileID)
		case "jobFile":
			in.JobFile = nil
			err = decodeField(k, raw, &in.JobFile)
		case "qos":
			in.QoS = nil
			err = decodeField(k, raw, &in.QoS)
		case "inProgressTimeoutMinutes":
			in.InProgressTimeoutMinutes = nil
			err = decodeField(k, raw, &in.InProgressTimeoutMinutes)
		case "rolloutPerMinute":
			in.RolloutPerMinute = nil
			err = decodeField(k, raw, &in.RolloutPerMinute)
		case "policy":
			in.Policy = nil
			err = decodeField(k, raw, &in.Policy)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Fields are the names of the fields the patch gives, sorted.
func (p TemplatePatch) Fields() []string {
	out := make([]string, 0, len(p.fields))
	for k := range p.fields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodeField decodes the value of field k into v; a wrong type is a 400
// naming the field (inside k, for an object).
func decodeField(k string, raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			k += "." + te.Field
		}
		return Invalid(k, "has the wrong type: %s", te.Value)
	}
	return Invalid(k, "cannot be read: %v", err)
}

// CreateTemplate validates in like the same fields of a task and saves
// it; its name must be new, whatever its case.
func (t *Tasks) CreateTemplate(ctx context.Context, in TemplateInput) (*Template, error) {
	p, err := t.checkTemplate(ctx, in)
	if err != nil {
		return nil, err
	}
	jobFileID, signMethod, doc, policy := templateColumns(p)
	now := t.now().UTC()
	var id ID
	err = t.db.Pool.QueryRow(ctx, `INSERT INTO task_templates (name, description, job_document, rule_file_id, job_file_id,
		sign_method, qos, in_progress_timeout_minutes, rollout_per_minute, policy, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
		p.in.Name, p.in.Description, doc, p.in.RuleFileID, jobFileID, signMethod, p.qos, p.in.InProgressTimeoutMinutes,
		p.rollout, policy, now).Scan(&id)
	if err != nil {
		return nil, templateWriteError(err, p.in.Name)
	}
	return t.GetTemplate(ctx, id)
}

// PatchTemplate changes the fields of template id that p gives and
// validates the template as a whole again, as on create.
func (t *Tasks) PatchTemplate(ctx context.Context, id ID, p TemplatePatch) (*Template, error) {
	err := pgx.BeginFunc(ctx, t.db.Pool, func(tx pgx.Tx) error {
		cur, err := scanTemplate(tx.QueryRow(ctx, templateSelect+` WHERE t.id = $1 FOR UPDATE OF t`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return NotFound("template %s not found", id)
		} else if err != nil {
			return err
		}
		in := cur.Input()
		if err := p.apply(&in); err != nil {
			return err
		}
		plan, err := t.checkTemplate(ctx, in)
		if err != nil {
			return err
		}
		jobFileID, signMethod, doc, policy := templateColumns(plan)
		_, err = tx.Exec(ctx, `UPDATE task_templates SET name = $2, description = $3, job_document = $4, rule_file_id = $5,
			job_file_id = $6, sign_method = $7, qos = $8, in_progress_timeout_minutes = $9, rollout_per_minute = $10,
			policy = $11, updated_at = $12 WHERE id = $1`,
			id, plan.in.Name, plan.in.Description, doc, plan.in.RuleFileID, jobFileID, signMethod, plan.qos,
			plan.in.InProgressTimeoutMinutes, plan.rollout, policy, t.now().UTC())
		if err != nil {
			return templateWriteError(err, plan.in.Name)
		}
		return nil
	})
	if err != nil {
		if _, ok := AsError(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("models: patch template %s: %w", id, err)
	}
	return t.GetTemplate(ctx, id)
}

// checkTemplate validates in and checks its files: a rule file for
// ruleFileId, a firmware file for jobFile.fileId (422 otherwise).
func (t *Tasks) checkTemplate(ctx context.Context, in TemplateInput) (*taskPlan, error) {
	p, err := in.plan(t.now().UTC())
	if err != nil {
		return nil, err
	}
	if id := in.RuleFileID; id != nil {
		f, err := t.files.Get(ctx, *id)
		if IsNotFound(err) {
			return nil, Unprocessable("ruleFileId", "rule file %s does not exist", *id)
		} else if err != nil {
			return nil, err
		}
		if f.Kind != FileRule {
			return nil, Unprocessable("ruleFileId", "file %s is %s, not a rule file", *id, f.Kind)
		}
	}
	if in.JobFile != nil {
		f, err := t.files.Get(ctx, in.JobFile.FileID)
		if IsNotFound(err) {
			return nil, Unprocessable("jobFile.fileId", "file %s does not exist", in.JobFile.FileID)
		} else if err != nil {
			return nil, err
		}
		if f.Kind != FileFirmware {
			return nil, Unprocessable("jobFile.fileId", "file %s is a %s file; the task file must be an uploaded firmware/data file", f.ID, f.Kind)
		}
	}
	return p, nil
}

// templateColumns are the stored values of a validated template that
// differ from its input: the task file's columns, the document and the
// policy (NULL when absent).
func templateColumns(p *taskPlan) (jobFileID *ID, signMethod *string, doc *string, policy []byte) {
	if p.in.JobFile != nil {
		jobFileID, signMethod = &p.in.JobFile.FileID, &p.signMethod
	}
	if p.document != nil {
		doc = ptr(string(p.document))
	}
	if p.policy != nil {
		policy, _ = json.Marshal(p.policy) // a Policy always marshals
	}
	return jobFileID, signMethod, doc, policy
}

// templateWriteError is the error of an INSERT or UPDATE of a template:
// a taken name (409), a file deleted meanwhile (422).
func templateWriteError(err error, name string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return conflictOn("name", "a template named %q already exists", name)
		case pe.Code == "23503" && strings.Contains(pe.ConstraintName, "rule_file"):
			return Unprocessable("ruleFileId", "the rule file was deleted meanwhile")
		case pe.Code == "23503":
			return Unprocessable("jobFile.fileId", "the file was deleted meanwhile")
		}
	}
	return fmt.Errorf("models: write template %q: %w", name, err)
}

// templateSelect reads templates t with their files' names.
const templateSelect = `SELECT t.id, t.name, t.description, t.job_document::text, t.rule_file_id, r.name, t.job_file_id,
	t.sign_method, f.name, f.size, f.md5, f.sha256, t.qos, t.in_progress_timeout_minutes, t.rollout_per_minute, t.policy,
	t.created_at, t.updated_at
	FROM task_templates t LEFT JOIN files r ON r.id = t.rule_file_id LEFT JOIN files f ON f.id = t.job_file_id`

func scanTemplate(row pgx.Row) (*Template, error) {
	var (
		tpl                 Template
		doc, ruleName, sign *string
		jobFileID           *ID
		file                struct {
			name, md5, sha256 *string
			size              *int64
		}
		policy []byte
	)
	err := row.Scan(&tpl.ID, &tpl.Name, &tpl.Description, &doc, &tpl.RuleFileID, &ruleName, &jobFileID,
		&sign, &file.name, &file.size, &file.md5, &file.sha256, &tpl.QoS, &tpl.InProgressTimeoutMinutes,
		&tpl.RolloutPerMinute, &policy, &tpl.CreatedAt, &tpl.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if doc != nil {
		tpl.JobDocument = RawJSON(*doc)
	}
	if ruleName != nil {
		tpl.RuleFileName = *ruleName
	}
	if jobFileID != nil && sign != nil && file.name != nil {
		f := File{ID: *jobFileID, Name: *file.name, Size: *file.size, MD5: *file.md5, SHA256: *file.sha256}
		tpl.JobFile = &JobFile{FileID: f.ID, Name: f.Name, Size: f.Size, SignMethod: *sign, Sign: f.Sign(*sign)}
	}
	if policy != nil {
		tpl.Policy = new(Policy)
		if err := json.Unmarshal(policy, tpl.Policy); err != nil {
			return nil, fmt.Errorf("models: the policy of template %s: %w", tpl.ID, err)
		}
	}
	tpl.CreatedAt, tpl.UpdatedAt = tpl.CreatedAt.UTC(), tpl.UpdatedAt.UTC()
	return &tpl, nil
}

// GetTemplate returns template id.
func (t *Tasks) GetTemplate(ctx context.Context, id ID) (*Template, error) {
	tpl, err := scanTemplate(t.db.Pool.QueryRow(ctx, templateSelect+` WHERE t.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFound("template %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("models: get template %s: %w", id, err)
	}
	return tpl, nil
}

// ListTemplates returns one page of the templates whose name contains q
// (any case; "" for all), by name.
func (t *Tasks) ListTemplates(ctx context.Context, q string, p Page) (List[Template], error) {
	if err := checkStorable("q", q); err != nil {
		return List[Template]{}, err
	}
	p = pageOf(p)
	like := "%" + escapeLike(strings.ToLower(q)) + "%"
	var total int64
	if err := t.db.Pool.QueryRow(ctx, `SELECT count(*) FROM task_templates WHERE lower(name) LIKE $1`, like).Scan(&total); err != nil {
		return List[Template]{}, fmt.Errorf("models: count templates: %w", err)
	}
	rows, err := t.db.Pool.Query(ctx, templateSelect+` WHERE lower(t.name) LIKE $1 ORDER BY lower(t.name), t.id LIMIT $2 OFFSET $3`,
		like, p.Size, p.Offset())
	if err != nil {
		return List[Template]{}, fmt.Errorf("models: list templates: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Template, error) {
		tpl, err := scanTemplate(row)
		if err != nil {
			return Template{}, err
		}
		return *tpl, nil
	})
	if err != nil {
		return List[Template]{}, fmt.Errorf("models: list templates: %w", err)
	}
	return NewList(items, total, p), nil
}

// DeleteTemplate deletes template id. Tasks made from it are not touched:
// they keep their own copy of its settings.
func (t *Tasks) DeleteTemplate(ctx context.Context, id ID) error {
	tag, err := t.db.Pool.Exec(ctx, `DELETE FROM task_templates WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("models: delete template %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return NotFound("template %s not found", id)
	}
	return nil
}

// createFromTemplate is CreateTask of a request that names a template:
// the template's settings stand in for the fields the request leaves out
// (absent or null, or an empty description); the name, the target and
// the start are always the request's. An error on a setting taken from
// the template says so.
func (t *Tasks) createFromTemplate(ctx context.Context, in TaskInput) (*Task, error) {
	tpl, err := t.GetTemplate(ctx, *in.TemplateID)
	if IsNotFound(err) {
		return nil, Unprocessable("templateId", "template %s does not exist", *in.TemplateID)
	} else if err != nil {
		return nil, err
	}
	in, taken := tpl.defaults(in)
	task, err := t.CreateTask(ctx, in)
	if e, ok := AsError(err); ok && taken[fieldRoot(e.Field)] {
		return nil, &Error{Kind: e.Kind, Field: e.Field, Message: fmt.Sprintf("%s (from the template “%s”)", e.Message, tpl.Name)}
	}
	return task, err
}

// defaults fills the fields in leaves out with the template's, and says
// which it filled (by field name).
func (tpl *Template) defaults(in TaskInput) (TaskInput, map[string]bool) {
	in.TemplateID = nil
	taken := map[string]bool{}
	from := tpl.Input()
	if in.Description == "" && from.Description != "" {
		in.Description, taken["description"] = from.Description, true
	}
	if (len(in.JobDocument) == 0 || string(in.JobDocument) == "null") && in.RuleFileID == nil {
		in.JobDocument, in.RuleFileID = from.JobDocument, from.RuleFileID
		taken["jobDocument"], taken["ruleFileId"] = true, true
	}
	if in.JobFile == nil && from.JobFile != nil {
		in.JobFile, taken["jobFile"] = from.JobFile, true
	}
	if in.QoS == nil {
		in.QoS, taken["qos"] = from.QoS, true
	}
	if in.InProgressTimeoutMinutes == nil && from.InProgressTimeoutMinutes != nil {
		in.InProgressTimeoutMinutes, taken["inProgressTimeoutMinutes"] = ptr(*from.InProgressTimeoutMinutes), true
	}
	if in.RolloutPerMinute == nil {
		in.RolloutPerMinute, taken["rolloutPerMinute"] = from.RolloutPerMinute, true
	}
	if in.Policy == nil && from.Policy != nil {
		in.Policy, taken["policy"] = from.Policy, true
	}
	return in, taken
}

// fieldRoot is the top-level field of an error's field path: "policy" of
// "policy.waves[1].percent".
func fieldRoot(field string) string {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return field
}

// templatesUsing refuses (409) the deletion of file id, named name, while
// templates use it: they hold their files like tasks do, and a template
// whose file is gone could make no task.
func templatesUsing(ctx context.Context, tx pgx.Tx, id ID, name string) error {
	rows, err := tx.Query(ctx, `SELECT name, count(*) OVER () FROM task_templates
		WHERE rule_file_id = $1 OR job_file_id = $1 ORDER BY id LIMIT 3`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	var names []string
	var total int
	for rows.Next() {
		var n string
		if err := rows.Scan(&n, &total); err != nil {
			return err
		}
		names = append(names, "“"+n+"”")
	}
	if err := rows.Err(); err != nil || total == 0 {
		return err
	}
	more := ""
	if total > len(names) {
		more = fmt.Sprintf(" and %d more", total-len(names))
	}
	use, them := "use", "them"
	if total == 1 {
		use, them = "uses", "it"
	}
	return Conflict("file “%s” (%s) cannot be deleted: the template%s %s%s %s it; give the template%s another file or delete %s first",
		name, id, plural(total), strings.Join(names, ", "), more, use, plural(total), them)
}
