package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"fleettasks/internal/testenv"
	"fleettasks/models"
)

// fleettasksCmd runs `fleettasks <args>` as a child process against the
// database url and returns its stdout, stderr and exit code.
func fleettasksCmd(t *testing.T, url, args string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FLEETTASKS_DATABASE_URL="+url, "FLEETTASKS_DATA_DIR="+t.TempDir(), "FLEETTASKS_TEST_MAIN="+args)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// The first admin from the command line: a made-up password printed once,
// --if-absent leaves an existing user alone, a token that works, and each
// change in the audit log.
func TestUsersAndTokensCommands(t *testing.T) {
	url := testenv.DatabaseURL(t)
	if _, _, code := fleettasksCmd(t, url, "migrate"); code != 0 {
		t.Fatal("migrate failed")
	}
	out, errOut, code := fleettasksCmd(t, url, "users create --email Root@Example.com --role admin")
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if code != 0 || !strings.Contains(out, "created admin user root@example.com") || m == nil || len(m[1]) < 20 {
		t.Fatalf("users create: %d %q %q", code, out, errOut)
	}
	db, err := models.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := models.NewAccounts(db)
	if _, _, err := acc.Login(context.Background(), "root@example.com", m[1], "192.0.2.1"); err != nil {
		t.Fatalf("the printed password does not sign in: %v", err)
	}
	out, _, code = fleettasksCmd(t, url, "users create --email root@example.com --role support --if-absent")
	if code != 0 || !strings.Contains(out, "exists") || strings.Contains(out, "password:") {
		t.Fatalf("--if-absent: %d %q", code, out)
	}
	_, errOut, code = fleettasksCmd(t, url, "users create --email ops@example.com --role root")
	if code != 1 || !strings.Contains(errOut, "role: must be admin, operator or support") {
		t.Fatalf("bad role: %d %q", code, errOut)
	}
	out, _, code = fleettasksCmd(t, url, "tokens create --email root@example.com --name ci")
	token := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(token, "ftk_") {
		t.Fatalf("tokens create: %d %q", code, out)
	}
	if u, err := acc.TokenUser(context.Background(), token); err != nil || u.Email != "root@example.com" || u.Role != models.RoleAdmin {
		t.Fatalf("the printed token: %+v %v", u, err)
	}
	out, _, code = fleettasksCmd(t, url, "users password --email root@example.com --password new-password-1")
	if code != 0 || strings.Contains(out, "new-password-1") {
		t.Fatalf("users password: %d %q", code, out)
	}
	if _, _, err := acc.Login(context.Background(), "root@example.com", "new-password-1", "192.0.2.1"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
	l, err := models.NewAudit(db).ListAudit(context.Background(), models.AuditFilter{}, models.Page{Number: 1, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range l.Items {
		actions = append(actions, e.Action)
		if e.Email != "(command line)" {
			t.Errorf("entry by %q", e.Email)
		}
	}
	if got := strings.Join(actions, " "); got != "user.reset_password token.create user.create" {
		t.Fatalf("audit: %s", got)
	}
}
