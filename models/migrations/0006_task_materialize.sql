-- A task for a large product gets its first sub-tasks at creation and the
-- rest from the workers, in chunks in device id order: materialize_cursor
-- is the last device id done (NULL once every sub-task exists), and
-- materialize_until the newest device the target held at creation.
ALTER TABLE tasks
    ADD COLUMN materialize_cursor bigint,
    ADD COLUMN materialize_until bigint,
    ADD COLUMN preparing boolean GENERATED ALWAYS AS (materialize_cursor IS NOT NULL) STORED;
CREATE INDEX tasks_materialize_idx ON tasks (id) WHERE materialize_cursor IS NOT NULL;

-- the chunks (and the count at creation) read a product's devices in id order
CREATE INDEX devices_product_id_idx ON devices (product_key, id);
