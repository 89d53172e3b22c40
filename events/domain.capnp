# The payload of every domain event (DOMAIN.md's catalog), stored in EventRecord.payload.
#
# Conventions (enforced or relied on by events/event_codec.cc; evolution rules in SCHEMA.md):
# - One struct per event type, named exactly like the type ("NeedOpened").
# - Personal data (DOMAIN.md's `*` fields) never sits in the event struct. It lives in a companion
#   struct `<Event>Personal`; the event struct carries it only as `sealed`, the AEAD ciphertext of
#   the encoded companion, so erasing the key leaves a verifiable log with unreadable data.
# - JSON names are snake_case through $Json.name (JsonCodec would otherwise use camelCase).
# - Ids are Text UUIDs, dates Text `YYYY-MM-DD`, lg_code Text (6 digits with check digit, one of
#   the shipped municipalities): what the API speaks, so JSON round trips without conversion.
# - No 64-bit integers: JsonCodec would write them as strings.
# - $required, $notBlank, $multiline, $format, $min, $max, $maxLength and $maxItems only
#   constrain new input (encode); readers of old records get the field's default whatever the
#   annotations say today.
# - A field that became personal keeps its place in the event struct, marked $personalSince(v):
#   only records of schema_version < v hold it there; newer input puts it into `<Event>Personal`
#   under the same JSON name, and the upcaster (upcast_payload in event_codec.h) moves it there
#   when an older record is read, so every reader sees the current shape.
#
# Which free text is personal: a reason that says something about the talent (why they pause,
# resume, withdraw, revoke their consent or decline: their family, health, main job) is the
# talent's personal data, sealed with the talent's key, and reads "[erased]" with the rest of
# their data. So is what is written about their placement (why an appointment is suspended,
# resumed or ended, an issue's summary and resolution, e.g. "体調不良のため休職"): employment
# facts about an identifiable person, sealed with the key of the appointment's talent like
# check-in notes. Free text about the need or the municipality is not: a need's hold, close or
# reopen reason, the municipality's decision reason, a candidacy's archive reason (the
# coordinator's bookkeeping, e.g. "talent_withdrew"), an appointment's flag (the process
# manager's fixed text), a void reason (a correction), and TalentPersonalDataErased.reason, the
# erasure's own audit record, which must stay readable after the erasure it records.
@0xbba97af193a90277;

using Json = import "/capnp/compat/json.capnp";
$import "/capnp/c++.capnp".namespace("kakehashi::schema");

# ---- input constraints, read by event_codec.cc (ids are hard-coded there) ----
annotation required @0x9c47a079040dda74 (field) :Void;
# Must be present (and, for Text, not blank: see $notBlank) in new input.
annotation notBlank @0xdbf99820fd20bb00 (field) :Void;
# A Text that, when present, must hold more than whitespace (U+3000 included) and zero-width
# characters: for an optional field whose value replaces a required one.
annotation multiline @0x9cf6f87c7a05d0e6 (field) :Void;
# Free text that may hold line breaks (LF, CR, U+2028, U+2029) and tabs. No Text holds any other
# control character (C0, DEL, C1), a bidirectional embedding, override or isolate (U+202A-U+202E,
# U+2066-U+2069), which would make it display in another order than it is stored, a
# noncharacter (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF), an interlinear annotation character
# (U+FFF9-U+FFFB) or U+FEFF. The marks LRM, RLM and ALM (U+200E, U+200F, U+061C) are allowed.
# The rule is disallowed_char in events/text_formats.h.
annotation format @0x94ed087f2f9450fb (field) :TextFormat;
# Shape of a Text field, or of each element of a List(Text).
annotation min @0x9c065ad49a4fdc8d (field) :Int64;
annotation max @0xa403e3cb7ff5beca (field) :Int64;
annotation maxLength @0xaf1ad1165f44174f (field) :UInt32;
# Most characters (code points, not bytes) of a Text, or of each element of a List(Text). Every
# Text field has one, or a $format that fixes its length (date, uuid, lgCode, roleCategory,
# skill).
annotation maxItems @0xc790909202783e8e (field) :UInt32;
# Most elements of a List. Every List field has one.
annotation personalSince @0xc8882c0a0413c677 (field) :UInt16;
# Deprecated in the event struct: from this schema_version on, the field of the same JSON name in
# `<Event>Personal` holds it (see the conventions above). Never accepted from input here.

# Shared bounds, so fields of one kind get the same limit.
const nameChars :UInt32 = 100;    # a person, organisation, department or title; a short label
const textChars :UInt32 = 2000;   # a reason, problem, scope, summary: a paragraph or two
const noteChars :UInt32 = 8000;   # hearing and check-in notes, findings: a page
const emailChars :UInt32 = 254;   # the longest address SMTP carries (RFC 5321)
const phoneChars :UInt32 = 30;
const tagItems :UInt32 = 50;      # skills, attendees
const choiceItems :UInt32 = 10;   # a list of enum values (each named once in practice)

enum TextFormat {
  date @0;    # YYYY-MM-DD, a real calendar date
  uuid @1;    # canonical 8-4-4-4-12 hex
  lgCode @2;  # 6-digit local government code with a valid check digit
  email @3;   # one @ between a non-empty local part and a domain with a dot; no spaces
  phone @4;   # digits, spaces, hyphens and parentheses, with at least one digit; + only first
  roleCategory @5;  # the code of a role in reference/taxonomy.tsv ("ui_ux_designer")
  skill @6;         # the code of a skill in reference/taxonomy.tsv ("python")
}

# ---- enumerations: ordinals are stored, never reuse or renumber one ----
enum Tier {
  handsOn @0 $Json.name("hands_on");
  cioAdvisor @1 $Json.name("cio_advisor");
}

enum WorkForm {
  onsite @0;
  remote @1;
  hybrid @2;
  spot @3;
}

enum Origin {
  municipalityRequest @0 $Json.name("municipality_request");
  talentDriven @1 $Json.name("talent_driven");
}

enum Direction {
  needDriven @0 $Json.name("need_driven");
  talentDriven @1 $Json.name("talent_driven");
}

enum SourcingMode {
  scout @0;
  publicPosting @1 $Json.name("public_posting");
}

enum NeedCloseReason {
  filled @0;
  cancelled @1;
  selfHired @2 $Json.name("self_hired");
  noMatch @3 $Json.name("no_match");
}

enum AppointmentEndKind {
  completed @0;
  early @1;
  renewed @2;
}

enum CheckInParty {
  talent @0;
  municipality @1;
}

enum AmendmentKind {
  scopeExpansion @0 $Json.name("scope_expansion");
  extension @1;
  hoursChange @2 $Json.name("hours_change");
  other @3;
}

enum MunicipalityKind {
  ward @0;
  city @1;
  town @2;
  village @3;
}

# ---- shared value structs ----
struct Availability {
  hoursPerWeek @0 :UInt16 $Json.name("hours_per_week") $max(168);
  workForms @1 :List(WorkForm) $Json.name("work_forms") $maxItems(.choiceItems);
  areas @2 :List(Text) $format(lgCode) $maxItems(62);  # at most all of Tokyo
}

struct Contact {
  name @0 :Text $required $maxLength(.nameChars);
  department @1 :Text $maxLength(.nameChars);
  title @2 :Text $maxLength(.nameChars);
  email @3 :Text $format(email) $maxLength(.emailChars);
  phone @4 :Text $format(phone) $maxLength(.phoneChars);
}

# ---- talent-{id} ----
struct TalentRegistered {
  sealed @0 :Data;
  residenceArea @1 :Text $Json.name("residence_area") $format(lgCode);
  skills @2 :List(Text) $maxItems(.tagItems) $format(skill);
  roleCategories @3 :List(Text) $Json.name("role_categories") $maxItems(20)
      $format(roleCategory);
  tiers @4 :List(Tier) $maxItems(.choiceItems);
  availability @5 :Availability;
  consentVersion @6 :Text $Json.name("consent_version") $required $maxLength(.nameChars);
}
struct TalentRegisteredPersonal {
  displayName @0 :Text $Json.name("display_name") $required $maxLength(.nameChars);
  email @1 :Text $required $format(email) $maxLength(.emailChars);
  phone @2 :Text $format(phone) $maxLength(.phoneChars);
  employer @3 :Text $maxLength(.nameChars);
}

# Present fields replace the profile's; absent ones are unchanged.
struct TalentProfileUpdated {
  sealed @0 :Data;
  residenceArea @1 :Text $Json.name("residence_area") $format(lgCode);
  skills @2 :List(Text) $maxItems(.tagItems) $format(skill);
  roleCategories @3 :List(Text) $Json.name("role_categories") $maxItems(20)
      $format(roleCategory);
  tiers @4 :List(Tier) $maxItems(.choiceItems);
}
struct TalentProfileUpdatedPersonal {
  displayName @0 :Text $Json.name("display_name") $notBlank $maxLength(.nameChars);
  email @1 :Text $format(email) $maxLength(.emailChars);
  phone @2 :Text $format(phone) $maxLength(.phoneChars);
  employer @3 :Text $maxLength(.nameChars);
}

struct TalentAvailabilityChanged {
  availability @0 :Availability $required;
}

struct TalentConsentGranted {
  consentVersion @0 :Text $Json.name("consent_version") $required $maxLength(.nameChars);
}

# Schema version 2: why the talent takes their consent back is theirs, as TalentPaused's reason.
struct TalentConsentRevoked {
  consentVersion @0 :Text $Json.name("consent_version") $maxLength(.nameChars);
  reason @1 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @2 :Data;
}
struct TalentConsentRevokedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

# Schema version 2: the reason is the talent's personal data (sealed with the talent's key).
struct TalentPaused {
  reason @0 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @1 :Data;
}
struct TalentPausedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

# Schema version 2, as TalentPaused.
struct TalentResumed {
  reason @0 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @1 :Data;
}
struct TalentResumedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

# Schema version 2, as TalentPaused.
struct TalentWithdrew {
  reason @0 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @1 :Data;
}
struct TalentWithdrewPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

struct TalentPersonalDataErased {
  reason @0 :Text $required $maxLength(.textChars) $multiline;
}

# ---- municipality-{lg_code} ----
struct MunicipalityListed {
  lgCode @0 :Text $Json.name("lg_code") $required $format(lgCode);
  nameJa @1 :Text $Json.name("name_ja") $required $maxLength(.nameChars);
  nameEn @2 :Text $Json.name("name_en") $required $maxLength(.nameChars);
  kind @3 :MunicipalityKind $required;
  # As in reference/tokyo_municipalities.tsv: 23区, 多摩, 島しょ.
  region @4 :Text $maxLength(.nameChars);
}

struct MunicipalityContactAssigned {
  sealed @0 :Data;
}
struct MunicipalityContactAssignedPersonal {
  contact @0 :Contact $required;
}

# ---- need-{id} ----
struct NeedOpened {
  lgCode @0 :Text $Json.name("lg_code") $required $format(lgCode);
  origin @1 :Origin $required;
  department @2 :Text $maxLength(.nameChars);
  problem @3 :Text $required $maxLength(.textChars) $multiline;
}

struct HearingRecorded {
  sealed @0 :Data;
  hearingId @1 :Text $Json.name("hearing_id") $required $format(uuid);
  heldOn @2 :Text $Json.name("held_on") $required $format(date);
  findings @3 :Text $maxLength(.noteChars) $multiline;
}
struct HearingRecordedPersonal {
  attendees @0 :List(Text) $maxItems(.tagItems) $maxLength(.nameChars);
  notes @1 :Text $maxLength(.noteChars) $multiline;
}

struct HearingNoteCorrected {
  sealed @0 :Data;
  hearingId @1 :Text $Json.name("hearing_id") $required $format(uuid);
  supersedes @2 :Text $required $format(uuid);  # event_id of the note being corrected
  reason @3 :Text $required $maxLength(.textChars) $multiline;
}
struct HearingNoteCorrectedPersonal {
  notes @0 :Text $required $maxLength(.noteChars) $multiline;
}

struct RequirementsDefined {
  revision @0 :UInt32;  # 1 for the first definition of a need, +1 for each redefinition
  roleCategory @1 :Text $Json.name("role_category") $required $format(roleCategory);
  tier @2 :Tier $required;
  skills @3 :List(Text) $maxItems(.tagItems) $format(skill);
  workForms @4 :List(WorkForm) $Json.name("work_forms") $maxItems(.choiceItems);
  hoursPerWeek @5 :UInt16 $Json.name("hours_per_week") $max(168);
  durationMonths @6 :UInt16 $Json.name("duration_months") $max(120);
  openings @7 :UInt16 $required $min(1) $max(100);
}

struct SourcingModeChosen {
  mode @0 :SourcingMode $required;
}

struct PublicPostingPublished {
  url @0 :Text $required $maxLength(2048);
  closesOn @1 :Text $Json.name("closes_on") $format(date);
}

struct NeedPutOnHold {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

struct NeedResumed {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

struct NeedClosed {
  reason @0 :NeedCloseReason $required;
  detail @1 :Text $maxLength(.textChars) $multiline;
}

struct NeedReopened {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

# Appended with CandidateIdentified, or CandidacyAttachedToNeed for an idea taken up: the need
# knows its candidacies, so "at most one open candidacy per (talent, need)" is checked under the
# need stream's expected version.
struct CandidateAttached {
  candidacyId @0 :Text $Json.name("candidacy_id") $required $format(uuid);
  talentId @1 :Text $Json.name("talent_id") $required $format(uuid);
}

# Appended with AppointmentArranged: one opening of the need is taken.
struct OpeningFilled {
  appointmentId @0 :Text $Json.name("appointment_id") $required $format(uuid);
  candidacyId @1 :Text $Json.name("candidacy_id") $required $format(uuid);
  talentId @2 :Text $Json.name("talent_id") $required $format(uuid);
}

# ---- candidacy-{id} ----
struct CandidateIdentified {
  talentId @0 :Text $Json.name("talent_id") $required $format(uuid);
  needId @1 :Text $Json.name("need_id") $format(uuid);  # absent for a talent-driven idea
  direction @2 :Direction $required;
  source @3 :Text $maxLength(.nameChars);
  matchScore @4 :Float64 $Json.name("match_score");
  lgCode @5 :Text $Json.name("lg_code") $format(lgCode);  # the municipality a talent-driven idea is for
}

struct TalentContacted {}

struct InterestConfirmed {}

# Schema version 2: the reason is the talent's (why they decline), sealed with the talent's key.
struct InterestDeclined {
  reason @0 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @1 :Data;
}
struct InterestDeclinedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

struct ProposalSubmitted {}

struct MunicipalDecisionRecorded {
  sealed @0 :Data;
  accepted @1 :Bool $required;
  reason @2 :Text $maxLength(.textChars) $multiline;
  enteredOnBehalf @3 :Bool $Json.name("entered_on_behalf");  # a coordinator typed it for the officer
}
struct MunicipalDecisionRecordedPersonal {
  decidedBy @0 :Text $Json.name("decided_by") $required $maxLength(.nameChars);
}

struct CandidacyArchived {
  reason @0 :Text $required $maxLength(.textChars) $multiline;
}

# A talent-driven idea taken up: the municipality opened a need for it and the idea now belongs
# to that need. Appended with the need's CandidateAttached under the need stream's expected
# version, so "at most one open candidacy per (talent, need)" holds as at identification.
struct CandidacyAttachedToNeed {
  needId @0 :Text $Json.name("need_id") $required $format(uuid);
}

# Appended with AppointmentArranged: the accepted candidacy became this appointment.
struct CandidacyAppointed {
  appointmentId @0 :Text $Json.name("appointment_id") $required $format(uuid);
}

# ---- appointment-{id} ----
struct AppointmentArranged {
  candidacyId @0 :Text $Json.name("candidacy_id") $required $format(uuid);
  # The next three are the candidacy's: the decider fills them in (and rejects a mismatch).
  talentId @1 :Text $Json.name("talent_id") $format(uuid);
  needId @2 :Text $Json.name("need_id") $format(uuid);
  lgCode @3 :Text $Json.name("lg_code") $format(lgCode);
  form @4 :WorkForm $required;
  startsOn @5 :Text $Json.name("starts_on") $required $format(date);
  endsOn @6 :Text $Json.name("ends_on") $required $format(date);
  hoursPerWeek @7 :UInt16 $Json.name("hours_per_week") $required $min(1) $max(168);
  scope @8 :Text $required $maxLength(.textChars) $multiline;
}

struct AppointmentStarted {}

# The new values of the terms an amendment touches; absent Text and 0 hours mean "unchanged".
struct AppointmentChanges {
  endsOn @0 :Text $Json.name("ends_on") $format(date);
  hoursPerWeek @1 :UInt16 $Json.name("hours_per_week") $max(168);
  scope @2 :Text $maxLength(.textChars) $multiline;
  summary @3 :Text $maxLength(.textChars) $multiline;
}

struct AppointmentAmended {
  sealed @0 :Data;
  kind @1 :AmendmentKind $required;
  effectiveOn @2 :Text $Json.name("effective_on") $required $format(date);
  changes @3 :AppointmentChanges $required;
}
struct AppointmentAmendedPersonal {
  approvedBy @0 :Text $Json.name("approved_by") $required $maxLength(.nameChars);
}

# Schema version 2: the reason is the talent's personal data (why their work stops: their health,
# family, main job), sealed with the talent's key; without one, with the municipality's.
struct AppointmentSuspended {
  reason @0 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @1 :Data;
}
struct AppointmentSuspendedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

# Schema version 2, as AppointmentSuspended.
struct AppointmentResumed {
  reason @0 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @1 :Data;
}
struct AppointmentResumedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

struct CheckInScheduled {
  checkInId @0 :Text $Json.name("check_in_id") $format(uuid);
  dueOn @1 :Text $Json.name("due_on") $required $format(date);
  party @2 :CheckInParty $required;
}

struct CheckInCompleted {
  sealed @0 :Data;
  checkInId @1 :Text $Json.name("check_in_id") $format(uuid);
  party @2 :CheckInParty $required;
  rating @3 :UInt8 $required $min(1) $max(5);
}
struct CheckInCompletedPersonal {
  notes @0 :Text $maxLength(.noteChars) $multiline;
}

struct CheckInMissed {
  checkInId @0 :Text $Json.name("check_in_id") $format(uuid);
  dueOn @1 :Text $Json.name("due_on") $required $format(date);
  party @2 :CheckInParty $required;
}

# Schema version 2: what went wrong in a placement is about the talent's work, so the summary is
# their personal data, sealed with the talent's key (it is required, so always theirs).
struct IssueRaised {
  issueId @0 :Text $Json.name("issue_id") $required $format(uuid);
  summary @1 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @2 :Data;
}
struct IssueRaisedPersonal {
  summary @0 :Text $required $maxLength(.textChars) $multiline;
}

# Schema version 2, as AppointmentSuspended.
struct IssueResolved {
  issueId @0 :Text $Json.name("issue_id") $required $format(uuid);
  resolution @1 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @2 :Data;
}
struct IssueResolvedPersonal {
  resolution @0 :Text $maxLength(.textChars) $multiline;
}

# Schema version 2, as AppointmentSuspended (why it ended early: the talent's circumstances).
struct AppointmentEnded {
  kind @0 :AppointmentEndKind $required;
  reason @1 :Text $maxLength(.textChars) $multiline $personalSince(2);  # version 1 only
  sealed @2 :Data;
}
struct AppointmentEndedPersonal {
  reason @0 :Text $maxLength(.textChars) $multiline;
}

# Something the coordinator must look at (a talent's withdrawal); does not change the terms.
# Public: only the withdrawal's process manager writes it (no route takes it), with a fixed text
# that says nothing beyond the public TalentWithdrew it reacts to.
struct AppointmentFlagged {
  reason @0 :Text $required $maxLength(.textChars) $multiline;
}

# ---- audit-{days since 1970-01-01}: who read personal data (APPI), in the tamper-evident log itself ----
struct PersonalDataRead {
  readerId @0 :Text $Json.name("reader_id") $required $maxLength(.nameChars);  # the token's id
  readerRole @1 :Text $Json.name("reader_role") $required $maxLength(.nameChars);
  # The token's label (up to 128 bytes), not personal data.
  readerName @2 :Text $Json.name("reader_name") $maxLength(200);
  # Streams whose personal fields were shown: stream names are at most 200 bytes, and a response
  # shows at most 1000 events (the API's largest page).
  subjects @3 :List(Text) $required $maxItems(1000) $maxLength(200);
  route @4 :Text $required $maxLength(200);  # what was read, e.g. "GET /v1/talents/{id}"
}

# ---- any stream ----
struct EventVoided {
  voidedEventId @0 :Text $Json.name("voided_event_id") $required $format(uuid);
  reason @1 :Text $required $maxLength(.textChars) $multiline;
}
