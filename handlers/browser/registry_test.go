package browser_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"fleettasks/device/sim"
	"fleettasks/models"
)

// TestRegistryInBrowser imports devices by CSV, puts them in a static
// group, previews a long dynamic group query as it is typed, runs a task
// on the group with simulated devices, follows one device's Tasks tab and
// its log of cloud-to-device messages to the notify it was sent, and
// manages the file library.
func TestRegistryInBrowser(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ctx := browser(t)
	s.signIn(ctx, models.RoleAdmin)
	if _, err := s.app.Registry.CreateProduct(context.Background(), models.ProductInput{ProductKey: s.pk, Name: "gateways"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bad := write("bad.csv", "productKey,deviceName\n"+s.pk+",gw1\n"+s.pk+",gw1\n"+s.pk+",gw#9\n")
	good := write("devices.csv", "productKey,deviceName\n"+s.pk+",gw1\n"+s.pk+",gw2\n"+s.pk+",gw3\n")
	rule := write("blink.json", `{"action":"blink","times":3}`)
	firmware := write("fw-1.2.bin", "firmware image")

	// --- devices: a refused CSV with its report, then an import ---
	run(t, ctx, "a CSV with bad lines",
		chromedp.Navigate(s.url+"/devices/import"),
		chromedp.SetUploadFiles(chromedp.CSS(`#import-file`), []string{bad}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-report"]`)),
	)
	waitJS(t, ctx, "a report of lines 3 and 4", `[...document.querySelectorAll('[data-testid="import-problem"]')].map(r => r.dataset.line).join() === '3,4'`, 5*time.Second)
	run(t, ctx, "import three devices",
		chromedp.SetUploadFiles(chromedp.CSS(`#import-file`), []string{good}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-done"]`)),
	)
	// the new devices' secrets are offered once, as a CSV file
	waitJS(t, ctx, "the secrets' download", `(() => {
		const a = document.querySelector('[data-testid="import-secrets-download"]');
		if (!a || a.getAttribute('download') !== 'device-secrets.csv') return false;
		const lines = atob(a.href.replace('data:text/csv;base64,', '')).trim().split('\n');
		return document.querySelector('[data-testid="import-done"]').textContent.includes('Imported 3 devices') &&
			lines.length === 4 && lines[0] === 'productKey,deviceName,deviceSecret' && /^[^,]+,gw1,[A-Za-z0-9]{32}$/.test(lines[1]);
	})()`, 5*time.Second)
	run(t, ctx, "see the devices",
		chromedp.Navigate(s.url+"/devices"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-table"]`)),
	)
	waitJS(t, ctx, "three devices listed", `document.querySelectorAll('[data-testid="device-row"]').length === 3`, 5*time.Second)
	s.simulate("gw", 3, sim.Succeed)

	// --- files: upload a rule file and a firmware image ---
	run(t, ctx, "upload the rule file",
		chromedp.Navigate(s.url+"/files"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="empty-state"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{rule}),
		chromedp.Click(chromedp.CSS(`[data-testid="file-upload-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="file-table"]`)),
	)
	// the upload's progress events reach the bar (noted across the reload
	// that follows the upload)
	waitJS(t, ctx, "watch the progress bar", `(() => {
		sessionStorage.removeItem('progress');
		document.addEventListener('htmx:xhr:progress', () => {
			const bar = document.querySelector('#file-progress');
			if (!bar.hidden && bar.value > 0) sessionStorage.setItem('progress', bar.value + '/' + bar.max);
		});
		return true;
	})()`, time.Second)
	run(t, ctx, "upload the firmware",
		chromedp.SetValue(chromedp.CSS(`#file-kind`), "firmware"),
		chromedp.SetUploadFiles(chromedp.CSS(`#file-input`), []string{firmware}),
		chromedp.Click(chromedp.CSS(`[data-testid="file-upload-submit"]`)),
	)
	waitJS(t, ctx, "two files, the firmware first", `[...document.querySelectorAll('[data-testid="file-row"]')].map(r => r.dataset.file).join() === 'fw-1.2.bin,blink.json'`, 10*time.Second)
	waitJS(t, ctx, "the progress bar moved", `/^[1-9][0-9]*\/[1-9][0-9]*$/.test(sessionStorage.getItem('progress') || '')`, time.Second)

	// --- a static group of the three ---
	run(t, ctx, "create the group",
		chromedp.Navigate(s.url+"/groups"),
		chromedp.SendKeys(chromedp.CSS(`#group-name`), "gateways"),
		chromedp.Click(chromedp.CSS(`[data-testid="create-group"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="group-add"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-devices`), s.pk+",gw1\n"+s.pk+",gw2\n"+s.pk+",gw3\n"),
		chromedp.Click(chromedp.CSS(`[data-testid="group-add-submit"]`)),
	)
	waitJS(t, ctx, "three members", `document.querySelectorAll('[data-testid="member-row"]').length === 3 &&
		document.querySelector('[data-testid="group-count"]').textContent === '3'`, 5*time.Second)

	// --- the live preview of a dynamic group's query: an htmx POST (a query
	// of thousands of characters does not fit in a URL) with the page's CSRF token ---
	run(t, ctx, "a dynamic group's query",
		chromedp.Navigate(s.url+"/groups"),
		chromedp.Click(chromedp.CSS(`[data-testid="kind-dynamic"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#group-query`)),
	)
	waitJS(t, ctx, "a 3,900-character query previews the three devices", `(() => {
		const q = document.querySelector('#group-query');
		const head = "productKey = '`+s.pk+`' AND (deviceName LIKE 'gw%' OR deviceName IN ('";
		const query = head + 'z'.repeat(3900 - head.length - 3) + "'))";
		if (q.value !== query) {
			q.value = query;
			q.dispatchEvent(new Event('input', {bubbles: true}));
			return false;
		}
		const n = document.querySelector('#query-preview [data-testid="preview-total"]');
		return !!n && n.textContent === '3';
	})()`, 5*time.Second)

	// --- a task on the group, with the uploaded rule file ---
	run(t, ctx, "step 1: target the group, pick the rule file",
		chromedp.Navigate(s.url+"/tasks/new"),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "blink gateways"),
		chromedp.Click(chromedp.CSS(`[data-testid="targetType-GROUP"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-groupId`)),
	)
	waitJS(t, ctx, "choose the group and the rule file", `(() => {
		const g = [...document.querySelectorAll('#f-groupId option')].find(o => o.textContent.startsWith('gateways'));
		document.querySelector('[data-testid="ruleSource-pick"]').click();
		const r = [...document.querySelectorAll('#f-ruleFilePick option')].find(o => o.textContent.startsWith('blink.json'));
		if (!g || !r) return false;
		document.querySelector('#f-groupId').value = g.value;
		document.querySelector('#f-ruleFilePick').value = r.value;
		return true;
	})()`, 5*time.Second)
	run(t, ctx, "step 2 and complete",
		chromedp.Click(chromedp.CSS(`[data-testid="next-step"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="create-step-2"]`)),
		chromedp.SetValue(chromedp.CSS(`#f-rolloutPerMinute`), "600"),
		chromedp.Click(chromedp.CSS(`[data-testid="complete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="task-summary"]`)),
	)
	waitJS(t, ctx, "the simulated devices complete it",
		`document.querySelector('[data-testid="task-summary"]').dataset.taskStatus === 'COMPLETED' && `+count("SUCCEEDED")+` === '3'`, 30*time.Second)

	// --- one device: its Tasks tab and its cloud-to-device log ---
	run(t, ctx, "the device list", chromedp.Navigate(s.url+"/devices"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-table"]`)))
	waitJS(t, ctx, "every device online", `[...document.querySelectorAll('[data-testid="online"]')].every(b => b.dataset.online === 'true')`, 5*time.Second)
	screenshot(t, ctx, "devices")
	run(t, ctx, "gw2's Tasks tab",
		chromedp.Click(chromedp.CSS(`[data-testid="device-row"][data-device="gw2"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-tabs"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="tab-tasks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="device-task-row"]`)),
	)
	waitJS(t, ctx, "the task succeeded on gw2", `(() => {
		const rows = document.querySelectorAll('[data-testid="device-task-row"]');
		return rows.length === 1 && rows[0].dataset.status === 'SUCCEEDED' &&
			rows[0].querySelector('[data-testid="device-task-link"]').textContent === 'blink gateways';
	})()`, 5*time.Second)
	waitJS(t, ctx, "the Delete action in sight, not scrolled off", `(() => {
		const b = document.querySelector('[data-testid="delete-task"]').getBoundingClientRect();
		return b.width > 0 && b.right <= document.querySelector('[data-testid="device-tasks"]').getBoundingClientRect().right;
	})()`, time.Second)
	screenshot(t, ctx, "device-tasks")
	run(t, ctx, "gw2's log, cloud-to-device only",
		chromedp.Click(chromedp.CSS(`[data-testid="tab-log"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="log-table"]`)),
	)
	waitJS(t, ctx, "filter on Cloud-to-device message", `(() => {
		const sel = document.querySelector('#log-direction');
		sel.value = 'c2d';
		sel.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`, time.Second)
	waitJS(t, ctx, "only cloud-to-device rows, the notify among them", `(() => {
		const rows = [...document.querySelectorAll('[data-testid="log-row"]')];
		return location.search.includes('direction=c2d') && rows.length > 0 && rows.every(r => r.dataset.direction === 'c2d') &&
			rows.some(r => r.querySelector('[data-testid="log-topic"]').textContent === '/sys/`+s.pk+`/gw2/thing/job/notify' &&
				r.querySelector('[data-testid="log-payload"]').textContent.includes('blink'));
	})()`, 5*time.Second)
	waitJS(t, ctx, "open the notify's payload", `(() => {
		const row = [...document.querySelectorAll('[data-testid="log-row"]')].find(r => r.querySelector('[data-testid="log-topic"]').textContent.endsWith('/notify'));
		row.querySelector('details').open = true;
		return true;
	})()`, time.Second)
	screenshot(t, ctx, "device-log")
	run(t, ctx, "the groups", chromedp.Navigate(s.url+"/groups"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="group-row"][data-group="gateways"]`)))
	screenshot(t, ctx, "groups")

	// --- the library: who uses what, the rule's JSON, deletes ---
	ruleFile, fw := s.libraryFiles()
	later := time.Now().Add(time.Hour)
	if _, err := s.app.Tasks.CreateTask(context.Background(), models.TaskInput{Name: "later blink", ScheduledAt: &later, RuleFileID: &ruleFile,
		Target: models.TargetInput{Type: models.TargetDeviceList, Devices: []models.DeviceRef{{ProductKey: s.pk, DeviceName: "gw1"}}}}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "the files", chromedp.Navigate(s.url+"/files"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="file-table"]`)))
	waitJS(t, ctx, "the rule file is used by both tasks", `(() => {
		const row = document.querySelector('[data-testid="file-row"][data-file="blink.json"]');
		return [...row.querySelectorAll('[data-testid="file-user"] a')].map(a => a.textContent).join() === 'later blink,blink gateways';
	})()`, 5*time.Second)
	waitJS(t, ctx, "the actions in sight, not scrolled off", `(() => {
		const b = document.querySelector('[data-testid="file-delete"]').getBoundingClientRect();
		return b.width > 0 && b.right <= document.querySelector('[data-testid="file-table"]').parentElement.getBoundingClientRect().right;
	})()`, time.Second)
	screenshot(t, ctx, "files")
	run(t, ctx, "the rule file's JSON",
		chromedp.Click(chromedp.CSS(`[data-testid="file-row"][data-file="blink.json"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="file-json"]`)),
	)
	waitJS(t, ctx, "pretty-printed", `document.querySelector('[data-testid="file-json"]').textContent.includes('\n  "action": "blink"')`, 5*time.Second)
	run(t, ctx, "delete it: refused",
		chromedp.Click(chromedp.CSS(`[data-testid="file-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#file-delete-dialog [data-testid="file-busy"]`)),
		chromedp.Click(chromedp.CSS(`#file-delete-dialog [data-testid="confirm-file-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	waitJS(t, ctx, "the refusal names the unfinished task", `document.querySelector('[data-testid="flash"]').textContent.includes('used by the unfinished task “later blink”') &&
		document.querySelector('[data-testid="file-name"]').textContent === 'blink.json'`, 5*time.Second)
	run(t, ctx, "delete the firmware from the list",
		chromedp.Navigate(s.url+"/files"),
		chromedp.Click(chromedp.CSS(`[data-testid="file-row"][data-file="fw-1.2.bin"] [data-testid="file-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#delete-file-`+fw.String())),
		chromedp.Click(chromedp.CSS(`#delete-file-`+fw.String()+` [data-testid="confirm-file-delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	if !strings.Contains(flash, "Deleted the file “fw-1.2.bin”") {
		t.Fatalf("after the firmware's delete: %q", flash)
	}
	waitJS(t, ctx, "one file left", `[...document.querySelectorAll('[data-testid="file-row"]')].map(r => r.dataset.file).join() === 'blink.json'`, 5*time.Second)
}

// libraryFiles returns the ids of the rule file and the firmware, newest first.
func (s *stack) libraryFiles() (rule, firmware models.ID) {
	s.t.Helper()
	list, err := s.app.Files.List(context.Background(), "", models.Page{Number: 1, Size: 10})
	if err != nil || len(list.Items) != 2 {
		s.t.Fatalf("files: %+v %v", list.Items, err)
	}
	return list.Items[1].ID, list.Items[0].ID
}
