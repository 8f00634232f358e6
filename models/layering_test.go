package models_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every database transaction of the product lives in package models;
// models holds no client of the network (broker, Redis, HTTP) and declares
// no interface another package could implement to be called back (as a
// publisher once was, inside a transaction): so nothing can talk to the
// network while a transaction holds its locks. The bench command's setup
// is the one exception (it prepares data in bulk).
func TestNoNetworkInsideTransactions(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "fleettasks/models").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, net := range []string{"github.com/redis/", "github.com/eclipse/paho", "github.com/hibiken/asynq", "net/http"} {
			if strings.HasPrefix(dep, net) {
				t.Errorf("package models depends on %s", dep)
			}
		}
	}
	own, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range own {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(path, "_test.go") && strings.Contains(string(src), " interface {") {
			t.Errorf("%s declares an interface: models calls no one back", path)
		}
	}
	root := filepath.Join("..")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || path == filepath.Join(root, "models")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(filepath.Base(path), "bench") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, call := range []string{"BeginFunc(", ".Begin(", ".BeginTx(", ".Transaction("} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s opens a transaction (%s); transactions belong in package models", path, call)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
