-- What a task's task file was when the task was created: its id, name,
-- size, sign method and digest, kept on the task (job_file), so that a
-- finished task still says which file it ran with once the file has been
-- deleted (models.Files.Delete then sets job_file_id to NULL and the
-- snapshot's deletedAt). The tasks of today are filled in from their files.
ALTER TABLE tasks ADD COLUMN job_file jsonb;
UPDATE tasks t SET job_file = jsonb_build_object('fileId', f.id::text, 'name', f.name, 'size', f.size,
        'signMethod', t.sign_method, 'sign', CASE WHEN t.sign_method = 'MD5' THEN f.md5 ELSE f.sha256 END)
    FROM files f WHERE f.id = t.job_file_id;
-- An upload finds the files already there with the same content (a
-- duplicate is offered instead of a second copy).
CREATE INDEX files_sha256_idx ON files (kind, sha256);
