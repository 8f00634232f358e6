package models_test

import (
	"context"
	"strings"
	"testing"

	"fleettasks/models"
	"fleettasks/protocol"
)

func TestTopicTooLongForCSDK(t *testing.T) {
	cases := []struct {
		pk, dn string
		want   bool
	}{
		{"lamp", "lamp-1", false},
		{strings.Repeat("p", 40), strings.Repeat("d", 58), false}, // 98 bytes: update_reply is 127
		{strings.Repeat("p", 40), strings.Repeat("d", 59), true},  // 99 bytes: 128
		{strings.Repeat("p", 64), strings.Repeat("d", 64), true},
	}
	for _, tc := range cases {
		if got := models.TopicTooLongForCSDK(tc.pk, tc.dn); got != tc.want {
			t.Errorf("%d+%d bytes: %v, want %v", len(tc.pk), len(tc.dn), got, tc.want)
		}
		longest := 0
		for _, kind := range []string{protocol.KindNotify, protocol.KindNotifyReply, protocol.KindGet,
			protocol.KindGetReply, protocol.KindUpdate, protocol.KindUpdateReply} {
			longest = max(longest, len(protocol.Topic(tc.pk, tc.dn, kind)))
		}
		if tooLong := longest > 127; tooLong != tc.want {
			t.Errorf("%d+%d bytes: the longest topic is %d bytes, but the rule says %v", len(tc.pk), len(tc.dn), longest, tc.want)
		}
	}
	hint := models.CSDKTopicHint("lamp", strings.Repeat("d", 100))
	if !strings.Contains(hint, "together are 104 bytes") || !strings.Contains(hint, "at most 98") || !strings.Contains(hint, "docs/protocol.md") {
		t.Fatalf("hint: %q", hint)
	}
	w := models.CSDKNameWarnings("lamp", []string{"a", strings.Repeat("d", 95), "b"})
	if len(w) != 1 || w[0].Field != "devices[1].deviceName" || !strings.HasPrefix(w[0].Message, "lamp/ddd") {
		t.Fatalf("warnings: %+v", w)
	}
}

func TestImportDevicesCSDKHints(t *testing.T) {
	_, r := newRegistry(t)
	pk := strings.Repeat("p", 40)
	regProduct(t, r, pk)
	long := strings.Repeat("d", 59)
	csv := "productKey,deviceName\n" + pk + ",short\n" + pk + "," + long + "\n"
	res, err := r.ImportDevices(context.Background(), strings.NewReader(csv))
	if err != nil || res.Created != 2 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	if len(res.Hints) != 1 || res.Hints[0].Line != 3 || res.Hints[0].Value != pk+","+long ||
		!strings.Contains(res.Hints[0].Reason, "together are 99 bytes") || res.MoreHints != 0 {
		t.Fatalf("hints: %+v", res.Hints)
	}
}
