package models

// PolicyPreset is a ready-made rollout policy the console offers.
type PolicyPreset struct {
	Key, Label, JSON string
}

// PolicyPresets are the console's ready-made policies, in the order
// offered; "none" (no policy) and "custom" (the operator's JSON) are the
// form's own choices.
var PolicyPresets = []PolicyPreset{
	{"canary", "Canary", `{"waves":[{"percent":1,"successGate":{"percent":95,"minFinished":1},"soakMinutes":30},` +
		`{"percent":10,"successGate":{"percent":95,"minFinished":5}},{}],` +
		`"abort":[{"failureType":"ANY","thresholdPercent":5,"minFinished":20,"action":"PAUSE"}]}`},
	{"phased", "Phased, approved", `{"waves":[{"percent":10},{"percent":40,"approval":"manual"},{"approval":"manual"}]}`},
	{"careful", "Slow start", `{"exponentialRate":{"baseRatePerMinute":10,"incrementFactor":2,"increaseAfter":{"succeeded":50}},` +
		`"abort":[{"failureType":"ANY","thresholdPercent":10,"minFinished":20,"action":"CANCEL"}],` +
		`"retry":[{"failureType":"TIMED_OUT","maxAttempts":2,"backoffMinutes":5,"backoffDoubling":true}]}`},
}

// PresetPolicy is the policy of preset key, or nil.
func PresetPolicy(key string) *PolicyPreset {
	for i := range PolicyPresets {
		if PolicyPresets[i].Key == key {
			return &PolicyPresets[i]
		}
	}
	return nil
}
