#!/usr/bin/env python3
"""Writes the seed corpora of the text-shaped fuzz targets into corpus/<target>/seed-*.

The inputs follow the layouts documented at the top of each <target>_fuzz.cc and use the fixed
tokens and ids of fuzz_support.h. record_decode's seeds are real stored records: they come from
`kakehashi_fuzz_seed_records corpus/record_decode` (seed_records.cc). Crash regressions are
committed next to the seeds as crash-*; this script never touches those.
    tests/fuzz/make_seeds.py        # from anywhere; rewrites every seed-* file
"""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def token(name):
    return "kh_" + name.ljust(43, "A")


ADMIN, COORD, MUNI, AUDITOR, DASH = (token("fuzz" + r) for r in
                                     ("admin", "coordinator", "municipality", "auditor", "dashboard"))
TALENT = "01920000-0000-7000-8000-00000000a001"
NEED = "01920000-0000-7000-8000-00000000b001"
HEARING = "01920000-0000-7000-8000-00000000b002"
CANDIDACY = "01920000-0000-7000-8000-00000000c001"
APPOINTMENT = "01920000-0000-7000-8000-00000000d001"


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def request(method, target, tok=None, body=None, headers=()):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    if tok:
        lines.append("Authorization: Bearer " + tok)
    lines += list(headers)
    raw_body = b""
    if body is not None:
        raw_body = body.encode()
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(raw_body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw_body


def http_seeds():
    t = "http_request"
    talent_body = ('{"id":"01920000-0000-7000-8000-00000000a0ff","display_name":"佐藤 一郎",'
                   '"email":"ichiro@example.jp","residence_area":"131016",'
                   '"role_categories":["rpa_specialist"],"skills":["figma"],"tiers":["cio_advisor"],'
                   '"availability":{"hours_per_week":4,"work_forms":["hybrid"],"areas":["131016"]},'
                   '"consent_version":"2024-04","occurred_at":"2025-04-01T09:00:00+09:00"}')
    seeds = {
        "healthz": request("GET", "/healthz"),
        "whoami": request("GET", "/v1/whoami", COORD),
        "register-talent": request("POST", "/v1/talents", COORD, talent_body,
                                   ["Idempotency-Key: 01920000-0000-7000-8000-0000000010aa"]),
        "hearing": request("POST", f"/v1/needs/{NEED}/hearings", COORD,
                           '{"held_on":"2025-05-02","attendees":["係長"],"notes":"メモ","findings":"x"}',
                           ['If-Match: "3"']),
        "correction": request("POST", f"/v1/needs/{NEED}/hearings/{HEARING}/corrections", COORD,
                              '{"supersedes":"01920000-0000-7000-8000-0000000010bb",'
                              '"reason":"typo","notes":"fixed"}'),
        "requirements": request("POST", f"/v1/needs/{NEED}/requirements", MUNI,
                                '{"role_category":"rpa_specialist","tier":"hands_on","skills":["figma"],'
                                '"work_forms":["remote","spot"],"hours_per_week":10,'
                                '"duration_months":6,"openings":3}'),
        "sourcing": request("POST", f"/v1/needs/{NEED}/sourcing", COORD,
                            '{"mode":"public_posting","url":"https://example.jp/p","closes_on":"2025-09-30"}'),
        "open-need": request("POST", "/v1/needs", MUNI,
                             '{"lg_code":"131016","origin":"municipality_request","department":"DX推進課",'
                             '"problem":"申請の電子化"}'),
        "identify": request("POST", "/v1/candidacies", COORD,
                            f'{{"talent_id":"{TALENT}","need_id":"{NEED}","direction":"need_driven",'
                            '"source":"scout","match_score":0.5}'),
        "decision": request("POST", f"/v1/candidacies/{CANDIDACY}/decision", COORD,
                            '{"accepted":false,"reason":"r","decided_by":"officer"}',
                            ["X-On-Behalf-Of: municipality:131016"]),
        "patch-talent": request("PATCH", f"/v1/talents/{TALENT}", COORD,
                                '{"availability":{"hours_per_week":6,"work_forms":["onsite"],"areas":[]}}'),
        "check-in": request("POST", f"/v1/appointments/{APPOINTMENT}/check-ins", COORD,
                            '{"party":"talent","rating":4,"notes":"good"}'),
        "amend": request("POST", f"/v1/appointments/{APPOINTMENT}/amend", MUNI,
                         '{"kind":"extension","effective_on":"2025-08-01","approved_by":"課長",'
                         '"changes":{"ends_on":"2026-06-30","hours_per_week":10}}'),
        "void": request("POST", f"/v1/needs/{NEED}/void", COORD,
                        '{"voided_event_id":"01920000-0000-7000-8000-0000000010cc","reason":"oops"}'),
        "pipeline": request("GET", "/v1/pipeline?lg_code=131016&as_of=2025-12-01", MUNI),
        "work-queue": request("GET", "/v1/work-queue?min_position=5", COORD),
        "need": request("GET", f"/v1/needs/{NEED}?as_of=2025-06-01T12:00:00%2B09:00", AUDITOR),
        "matches": request("GET", f"/v1/needs/{NEED}/matches?limit=3", COORD),
        "talents": request("GET", "/v1/talents?skill=figma&available=true", COORD),
        "talent": request("GET", f"/v1/talents/{TALENT}?as_of=12", ADMIN),
        "appointment": request("GET", f"/v1/appointments/{APPOINTMENT}", DASH),
        "funnel": request("GET", "/v1/metrics/funnel", DASH),
        "headline": request("GET", "/v1/metrics/headline?as_of=40", AUDITOR),
        "municipalities": request("GET", "/v1/municipalities", MUNI),
        "stream": request("GET", f"/v1/streams/need-{NEED}?from=0&limit=10&direction=backward", AUDITOR),
        "events": request("GET", "/v1/events?from=60&limit=5&types=NeedOpened,HearingRecorded", ADMIN),
        "verify": request("GET", "/v1/audit/verify", AUDITOR),
        "tokens": request("GET", "/v1/tokens", ADMIN),
        "metrics": request("GET", "/metrics", DASH),
        "dashboard": request("GET", "/", None, None, ["If-None-Match: \"x\""]),
        "preflight": request("OPTIONS", "/v1/needs", None, None,
                             ["Origin: https://dashboard.example",
                              "Access-Control-Request-Method: POST",
                              "Access-Control-Request-Headers: authorization, content-type"]),
        "stream-upgrade": request("GET", "/v1/stream?access_token=" + DASH, None, None,
                                  ["Upgrade: websocket", "Connection: Upgrade",
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                   "Sec-WebSocket-Version: 13",
                                   "Sec-WebSocket-Protocol: kakehashi.v1",
                                   "Origin: https://evil.example"]),
        "bad-token": request("GET", "/v1/whoami", token("nosuchtoken")),
        "chunked": (f"POST /v1/needs/{NEED}/resume HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {COORD}\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"rea\r\n10\r\nson\":\"budget\"}  \r\n0\r\n\r\n"),
        "expect-continue": request("POST", f"/v1/appointments/{APPOINTMENT}/issues", COORD,
                                   '{"issue_id":"01920000-0000-7000-8000-0000000010dd","summary":"s"}',
                                   ["Expect: 100-continue"]),
        "pipelined": (request("GET", "/healthz") + request("GET", "/v1/whoami", MUNI) +
                      request("POST", f"/v1/talents/{TALENT}/pause", COORD, '{"reason":"busy"}') +
                      request("POST", f"/v1/talents/{TALENT}/resume", COORD, "{}")),
        "http10": b"GET /healthz HTTP/1.0\r\n\r\n",
        "smuggle": (f"POST /v1/needs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {COORD}\r\n"
                    "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n"),
    }
    for name, data in seeds.items():
        write(t, name, data)


def frame(opcode, payload, fin=True, mask=b"\x37\xfa\x21\x3d"):
    if isinstance(payload, str):
        payload = payload.encode()
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n <= 0xFFFF:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def ws_conversations():
    sub_all = '{"op":"subscribe","id":"s1","stream":"$all","from":"start"}'
    return {
        "subscribe-all": frame(1, sub_all),
        "subscribe-need": frame(1, f'{{"op":"subscribe","id":"n.1","stream":"need-{NEED}","from":3,'
                                   '"types":["HearingRecorded","RequirementsDefined"]}'),
        "subscribe-category": frame(1, '{"op":"subscribe","id":"c:1","stream":"$ce-candidacy","from":"end"}'),
        "watch-pipeline": frame(1, '{"op":"watch","id":"w1","view":"pipeline","lg_code":"131016"}'),
        "watch-headline": frame(1, '{"op":"watch","id":"w2","view":"headline"}') +
                          frame(1, '{"op":"watch","id":"w3","view":"work-queue"}'),
        "unsubscribe": frame(1, sub_all) + frame(1, '{"op":"unsubscribe","id":"s1"}') +
                       frame(1, '{"op":"unsubscribe","id":"s1"}'),
        "ping": frame(1, '{"op":"ping"}') + frame(9, "hello") + frame(10, ""),
        "fragmented": frame(1, '{"op":"subscribe","id":"f1",', fin=False) + frame(9, "mid") +
                      frame(0, '"stream":"$all","from":"start"}'),
        "close": frame(1, sub_all) + frame(8, struct.pack(">H", 1000) + b"bye"),
        "binary": frame(2, b"\x00\x01\x02"),
        "bad-json": frame(1, '{"op":"subscribe","id":"x"') + frame(1, '[1,2,3]') +
                    frame(1, '{"op":"fly","id":"a"}'),
        "duplicate": frame(1, sub_all) + frame(1, sub_all),
        "big": frame(1, '{"op":"ping","pad":"' + "x" * 300 + '"}'),
    }


def ws_seeds():
    for i, (name, data) in enumerate(ws_conversations().items()):
        write("ws_session", name, bytes([i % 5]) + data)
        write("ws_client", name, bytes([(0, 1, 3, 7, 64)[i % 5]]) + data)


def event_types():
    with open(os.path.join(HERE, "..", "..", "events", "event_registry.cc"), encoding="utf-8") as f:
        return re.findall(r'>\(\s*"(\w+)",', f.read())


def command_seeds():
    types = event_types()
    bodies = {
        "TalentRegistered": '{"display_name":"佐藤","email":"s@example.jp","consent_version":"2024-04",'
                            '"skills":["figma"],"tiers":["hands_on"],"availability":{"hours_per_week":3}}',
        "TalentProfileUpdated": '{"display_name":"佐藤","skills":["accessibility"],"role_categories":[]}',
        "TalentAvailabilityChanged": '{"availability":{"hours_per_week":5,"work_forms":["spot"],"areas":["131016"]}}',
        "TalentConsentGranted": '{"consent_version":"2025-01"}',
        "TalentConsentRevoked": '{"reason":"r"}',
        "TalentPaused": '{"reason":"busy"}',
        "TalentResumed": '{}',
        "TalentWithdrew": '{"reason":"moved"}',
        "TalentPersonalDataErased": '{"reason":"request"}',
        "MunicipalityListed": '{"lg_code":"131024","name_ja":"中央区","name_en":"Chuo","kind":"ward"}',
        "MunicipalityContactAssigned": '{"contact":{"name":"鈴木","department":"DX","email":"c@example.jp"}}',
        "NeedOpened": '{"lg_code":"131016","origin":"talent_driven","problem":"p","department":"d"}',
        "HearingRecorded": f'{{"hearing_id":"{HEARING}","held_on":"2025-02-28","attendees":["a","b"],"notes":"n"}}',
        "HearingNoteCorrected": f'{{"hearing_id":"{HEARING}","supersedes":"01920000-0000-7000-8000-0000000e0004",'
                                '"reason":"r","notes":"m"}',
        "RequirementsDefined": '{"role_category":"rpa_specialist","tier":"cio_advisor","openings":1,'
                               '"work_forms":["remote"],"duration_months":12}',
        "SourcingModeChosen": '{"mode":"scout"}',
        "PublicPostingPublished": '{"url":"https://example.jp","closes_on":"2024-02-29"}',
        "NeedPutOnHold": '{"reason":"budget"}',
        "NeedResumed": '{}',
        "NeedClosed": '{"reason":"no_match","detail":"d"}',
        "NeedReopened": '{"reason":"again"}',
        "CandidateIdentified": f'{{"talent_id":"{TALENT}","need_id":"{NEED}","direction":"need_driven",'
                               '"match_score":0.75}',
        "TalentContacted": '{}',
        "InterestConfirmed": '{}',
        "InterestDeclined": '{"reason":"time"}',
        "ProposalSubmitted": '{}',
        "MunicipalDecisionRecorded": '{"accepted":true,"decided_by":"課長","reason":"ok"}',
        "CandidacyArchived": '{"reason":"stale"}',
        "AppointmentArranged": f'{{"candidacy_id":"{CANDIDACY}","form":"hybrid","starts_on":"2025-07-01",'
                               '"ends_on":"2025-12-31","hours_per_week":6,"scope":"s"}',
        "AppointmentStarted": '{}',
        "AppointmentAmended": '{"kind":"hours_change","effective_on":"2025-09-01","approved_by":"x",'
                              '"changes":{"hours_per_week":12,"summary":"more"}}',
        "AppointmentSuspended": '{"reason":"leave"}',
        "AppointmentResumed": '{}',
        "CheckInScheduled": '{"check_in_id":"01920000-0000-7000-8000-0000000e0100","due_on":"2025-08-01",'
                            '"party":"municipality"}',
        "CheckInCompleted": '{"check_in_id":"01920000-0000-7000-8000-0000000e0100","party":"talent",'
                            '"rating":5,"notes":"n"}',
        "CheckInMissed": '{"due_on":"2025-08-01","party":"talent"}',
        "IssueRaised": '{"issue_id":"01920000-0000-7000-8000-0000000e0200","summary":"late"}',
        "IssueResolved": '{"issue_id":"01920000-0000-7000-8000-0000000e9999","resolution":"done"}',
        "AppointmentEnded": '{"kind":"early","reason":"r"}',
        "EventVoided": '{"voided_event_id":"01920000-0000-7000-8000-0000000e0004","reason":"mistake"}',
        "PersonalDataRead": '{"reader_id":"r","reader_role":"auditor","subjects":["talent-x"],"route":"GET /"}',
    }
    for name, body in bodies.items():
        if name not in types:
            continue
        index = types.index(name)
        for flags in (0, 3, 7):
            write("command_json", f"{name}-{flags}", bytes([index, flags]) + body.encode())


def recovery_seeds():
    # Families, in the order the store creates them: default, log, streams, dedupe, keys, proj, meta.
    log, streams, dedupe, keys, proj, meta = 1, 2, 3, 4, 5, 6
    verify, no_verify, read_only = 1, 0, 3

    def put(cf, key, value):
        return bytes([0, cf, len(key)]) + key + struct.pack(">H", len(value)) + value

    def delete(cf, n):
        return bytes([1, cf, n])

    def patch(cf, n, offset, data):
        return bytes([2, cf, n]) + struct.pack(">H", offset) + bytes([len(data)]) + data

    def truncate(cf, n, length):
        return bytes([3, cf, n]) + struct.pack(">H", length)

    def copy(cf, n, m):
        return bytes([4, cf, n, m])

    def neighbour(cf, n, extra):
        return bytes([5, cf, n, extra])

    # Snapshot image files, the n-th by name (255: the newest of the template's few).
    def image_patch(n, offset, data):
        return bytes([6, n]) + struct.pack(">H", offset) + bytes([len(data)]) + data

    def image_truncate(n, length):
        return bytes([7, n]) + struct.pack(">H", length)

    def image_reseal(n, offset, data):
        return bytes([8, n]) + struct.pack(">H", offset) + bytes([len(data)]) + data

    seeds = {
        "plain": bytes([verify]),
        "read-only": bytes([read_only]),
        "patch-tail-record": bytes([verify]) + patch(log, 255, 40, b"\xff\xff\xff\xff"),
        "patch-record-unverified": bytes([no_verify]) + patch(log, 66, 8, b"\x00\x00\x00\x40"),
        "truncate-record": bytes([no_verify]) + truncate(log, 70, 24),
        "copy-record": bytes([no_verify]) + copy(log, 3, 68),
        "extra-position": bytes([verify]) + put(log, struct.pack(">Q", 1000), b"\x00" * 16),
        "odd-log-key": bytes([no_verify]) + put(log, b"\x00\x00\x01", b"junk"),
        "drop-stream-index": bytes([no_verify]) + delete(streams, 64) + neighbour(streams, 65, 0),
        "stream-index-points-away": bytes([no_verify]) + patch(streams, 66, 0, b"\x00\x00\x00\x00\x00\x00\x10\x00"),
        "dedupe-points-away": bytes([no_verify]) + patch(dedupe, 5, 0, b"\xff" * 8) + truncate(dedupe, 6, 3),
        "bad-key": bytes([no_verify]) + patch(keys, 0, 0, b"\x00\x01\x02") + truncate(keys, 1, 5),
        "foreign-key": bytes([no_verify]) + put(keys, b"talent-zzz", b"\x01" * 40),
        "erased-marker": bytes([no_verify]) + put(keys, b"x", b"") + neighbour(keys, 0, 0x7f),
        "bad-snapshot": bytes([verify]) + patch(proj, 0, 4, b"\xde\xad\xbe\xef") + truncate(proj, 2, 7),
        "foreign-checkpoint": bytes([verify]) + put(proj, b"read_model/checkpoint", b"\xff" * 8),
        "format-version": bytes([verify]) + put(meta, b"format_version", b"2"),
        "no-format-version": bytes([read_only]) + delete(meta, 0),
        "default-family": bytes([verify]) + put(0, b"stray", b"value"),
        "image-flipped-byte": bytes([verify]) + image_patch(255, 100, b"\x01"),
        "image-header-position": bytes([verify]) + image_patch(0, 16, b"\x07"),
        "image-truncated": bytes([verify]) + image_truncate(255, 40) + image_truncate(0, 70),
        "image-resealed-garbage": bytes([verify]) + image_reseal(255, 0, b"\xff" * 16),
        "image-resealed-read-only": bytes([read_only]) + image_reseal(0, 30, b"\x00" * 4),
    }
    for name, data in seeds.items():
        write("store_recovery", name, data)


if __name__ == "__main__":
    http_seeds()
    ws_seeds()
    command_seeds()
    recovery_seeds()
