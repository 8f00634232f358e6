-- The task list sorts by name and by start time (GET /tasks, GET
-- /api/v1/tasks: sort=name|started): each order, ties broken by id, reads
-- an index instead of sorting every task. By creation it reads the primary
-- key, by status tasks_status_idx (status, id).
CREATE INDEX tasks_name_sort_idx ON tasks (lower(name), id);
CREATE INDEX tasks_started_idx ON tasks (started_at, id);
