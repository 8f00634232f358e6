-- A device registered, deleted or given a new secret changes what an
-- external broker must accept: tell the listeners (fleettasks broker
-- passwd --watch) at commit, once per statement.
CREATE FUNCTION device_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleettasks_device_credentials', '');
    RETURN NULL;
END $$;

CREATE TRIGGER devices_credentials_notify
    AFTER INSERT OR DELETE OR UPDATE OF secret_enc ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION device_credentials_changed();
