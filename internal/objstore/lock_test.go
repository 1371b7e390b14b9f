package objstore

import (
	"errors"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

func TestCheckRetentionChange(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	later, muchLater, earlier := now.Add(time.Hour), now.Add(2*time.Hour), now.Add(-time.Hour)
	tests := []struct {
		name   string
		cur    meta.Version
		next   Retention
		bypass bool
		locked bool
	}{
		{"None", meta.Version{}, Retention{LockCompliance, later}, false, false},
		{"Expired", meta.Version{LockMode: LockCompliance, RetainUntil: earlier}, Retention{LockGovernance, later}, false, false},
		{"ExpiredRemove", meta.Version{LockMode: LockCompliance, RetainUntil: earlier}, Retention{}, false, false},
		{"ExtendGovernance", meta.Version{LockMode: LockGovernance, RetainUntil: later}, Retention{LockGovernance, muchLater}, false, false},
		{"KeepGovernance", meta.Version{LockMode: LockGovernance, RetainUntil: later}, Retention{LockGovernance, later}, false, false},
		{"ShortenGovernance", meta.Version{LockMode: LockGovernance, RetainUntil: muchLater}, Retention{LockGovernance, later}, false, true},
		{"ShortenGovernanceBypass", meta.Version{LockMode: LockGovernance, RetainUntil: muchLater}, Retention{LockGovernance, later}, true, false},
		{"GovernanceToCompliance", meta.Version{LockMode: LockGovernance, RetainUntil: later}, Retention{LockCompliance, muchLater}, false, true},
		{"GovernanceToComplianceBypass", meta.Version{LockMode: LockGovernance, RetainUntil: later}, Retention{LockCompliance, later}, true, false},
		{"RemoveGovernance", meta.Version{LockMode: LockGovernance, RetainUntil: later}, Retention{}, false, true},
		{"RemoveGovernanceBypass", meta.Version{LockMode: LockGovernance, RetainUntil: later}, Retention{}, true, false},
		{"ExtendCompliance", meta.Version{LockMode: LockCompliance, RetainUntil: later}, Retention{LockCompliance, muchLater}, false, false},
		{"ShortenComplianceBypass", meta.Version{LockMode: LockCompliance, RetainUntil: muchLater}, Retention{LockCompliance, later}, true, true},
		{"ComplianceToGovernanceBypass", meta.Version{LockMode: LockCompliance, RetainUntil: later}, Retention{LockGovernance, muchLater}, true, true},
		{"RemoveComplianceBypass", meta.Version{LockMode: LockCompliance, RetainUntil: later}, Retention{}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRetentionChange(&tc.cur, tc.next, tc.bypass, now)
			if got := errors.Is(err, ErrObjectLocked); got != tc.locked || (err != nil && !got) {
				t.Errorf("checkRetentionChange = %v, want locked %v", err, tc.locked)
			}
		})
	}
}

func TestCheckDeletable(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	tests := []struct {
		name   string
		v      meta.Version
		bypass bool
		locked bool
	}{
		{"Unlocked", meta.Version{}, false, false},
		{"Governance", meta.Version{LockMode: LockGovernance, RetainUntil: later}, false, true},
		{"GovernanceBypass", meta.Version{LockMode: LockGovernance, RetainUntil: later}, true, false},
		{"ComplianceBypass", meta.Version{LockMode: LockCompliance, RetainUntil: later}, true, true},
		{"ComplianceExpired", meta.Version{LockMode: LockCompliance, RetainUntil: earlier}, false, false},
		{"RetainUntilNow", meta.Version{LockMode: LockCompliance, RetainUntil: now}, false, false},
		{"LegalHoldBypass", meta.Version{LegalHold: LegalHoldOn}, true, true},
		{"LegalHoldOff", meta.Version{LegalHold: LegalHoldOff}, false, false},
		{"LegalHoldExpiredRetention", meta.Version{LegalHold: LegalHoldOn, LockMode: LockGovernance, RetainUntil: earlier}, true, true},
		{"DeleteMarker", meta.Version{DeleteMarker: true, LegalHold: LegalHoldOn}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDeletable(&tc.v, tc.bypass, now)
			if got := errors.Is(err, ErrObjectLocked); got != tc.locked || (err != nil && !got) {
				t.Errorf("checkDeletable = %v, want locked %v", err, tc.locked)
			}
		})
	}
}

func TestParseObjectLock(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }})
	future := "2030-01-02T03:04:05.678901Z"
	tests := []struct {
		name string
		in   ObjectLockInput
		// msg is the error message, "" for success.
		msg string
		arg string
	}{
		{"None", ObjectLockInput{}, "", ""},
		{"Retention", ObjectLockInput{Mode: LockGovernance, RetainUntilDate: future}, "", ""},
		{"LegalHold", ObjectLockInput{LegalHold: LegalHoldOn}, "", ""},
		{"ModeOnly", ObjectLockInput{Mode: LockGovernance}, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.", "x-amz-object-lock-retain-until-date"},
		{"DateOnly", ObjectLockInput{RetainUntilDate: future}, "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.", "x-amz-object-lock-mode"},
		{"DateFormatFirst", ObjectLockInput{Mode: "abc", RetainUntilDate: "2030-01-02"}, "The retain until date must be provided in ISO 8601 format", "x-amz-object-lock-retain-until-date"},
		{"PastBeforeMode", ObjectLockInput{Mode: "abc", RetainUntilDate: "2029-12-31T00:00:00Z"}, "The retain until date must be in the future!", "x-amz-object-lock-retain-until-date"},
		{"Now", ObjectLockInput{Mode: LockGovernance, RetainUntilDate: "2030-01-01T00:00:00Z"}, "The retain until date must be in the future!", "x-amz-object-lock-retain-until-date"},
		{"Mode", ObjectLockInput{Mode: "governance", RetainUntilDate: future}, "Unknown wormMode directive.", "x-amz-object-lock-mode"},
		{"LegalHoldValue", ObjectLockInput{LegalHold: "on"}, "Legal Hold must be either of 'ON' or 'OFF'", "x-amz-object-lock-legal-hold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := s.parseObjectLock(tc.in)
			if tc.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.in.RetainUntilDate != "" && !l.until.Equal(time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)) {
					t.Errorf("until = %v, want millisecond precision", l.until)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != "InvalidArgument" || e.Message != tc.msg {
				t.Fatalf("err = %v, want InvalidArgument %q", err, tc.msg)
			}
			if len(e.Extra) == 0 || e.Extra[0] != [2]string{"ArgumentName", tc.arg} {
				t.Errorf("Extra = %q, want ArgumentName %s", e.Extra, tc.arg)
			}
		})
	}
}

func TestDefaultRetention(t *testing.T) {
	t0 := time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		d    DefaultRetention
		want time.Time
		msg  string
	}{
		{DefaultRetention{LockGovernance, 1, PeriodDays}, time.Date(2028, 3, 1, 12, 0, 0, 0, time.UTC), ""},
		{DefaultRetention{LockCompliance, 1, PeriodYears}, time.Date(2029, 3, 1, 12, 0, 0, 0, time.UTC), ""},
		{DefaultRetention{LockGovernance, MaxRetentionDays, PeriodDays}, t0.AddDate(0, 0, MaxRetentionDays), ""},
		{DefaultRetention{LockGovernance, 0, PeriodDays}, time.Time{}, "Default retention period must be a positive integer value."},
		{DefaultRetention{LockGovernance, -1, PeriodYears}, time.Time{}, "Default retention period must be a positive integer value."},
		{DefaultRetention{LockGovernance, MaxRetentionDays + 1, PeriodDays}, time.Time{}, "Default retention period too large."},
		{DefaultRetention{LockGovernance, MaxRetentionYears + 1, PeriodYears}, time.Time{}, "Default retention period too large."},
		{DefaultRetention{"governance", 1, PeriodDays}, time.Time{}, ErrMalformedXML.Message},
	}
	for _, tc := range tests {
		err := tc.d.validate()
		if tc.msg != "" {
			var e *Error
			if !errors.As(err, &e) || e.Message != tc.msg {
				t.Errorf("%+v: validate = %v, want %q", tc.d, err, tc.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.d, err)
		}
		if got := tc.d.until(t0); !got.Equal(tc.want) {
			t.Errorf("%+v: until = %v, want %v", tc.d, got, tc.want)
		}
	}
}
