// Japanese first, English on the toggle. Every string the dashboard shows comes from here, so a
// missing translation shows its key (easy to spot) instead of breaking the page. Role categories
// and municipality names come from the shipped reference data (/assets/*.tsv), so a category
// added to reference/taxonomy.tsv gets its label without a code change.

const strings = {
  ja: {
    'app.title': '架け橋 ダッシュボード',
    'app.skip': '本文へ移動',
    'nav.label': '表示の切り替え',
    'nav.board': 'パイプライン',
    'nav.queue': '対応待ち',
    'nav.metrics': '指標',
    'nav.coverage': '自治体カバレッジ',
    'nav.activity': 'ライブ記録',
    'nav.audit': '監査',
    'lang.toggle': 'English',
    'lang.toggle.label': 'Switch to English',
    'signout': 'サインアウト',
    'conn.connecting': '接続処理中',
    'conn.open': '接続中',
    'conn.reconnecting': '再接続中',
    'conn.closed': '切断',
    'conn.retry_in': '{s}秒後に再試行',
    'conn.label': 'リアルタイム接続の状態',
    'role.admin': '管理者',
    'role.coordinator': 'コーディネーター',
    'role.municipality': '自治体職員',
    'role.auditor': '監査担当',
    'role.dashboard': '表示専用',
    'signin.title': 'サインイン',
    'signin.lead': '発行されたアクセストークンを貼り付けてください。トークンはこのタブを閉じると消えます。',
    'signin.token': 'アクセストークン',
    'signin.submit': 'サインイン',
    'signin.checking': '確認しています…',
    'signin.hint': 'トークンの発行: kakehashi token issue --data DIR --role coordinator',
    'loading': '読み込み中…',
    'empty': '表示するものはありません',
    'retry': '再読み込み',
    'live': 'ライブ',
    'position': '位置',
    'as_of.label': '基準時点',
    'as_of.date': '日付',
    'as_of.position': 'ログ位置',
    'as_of.apply': '適用',
    'as_of.clear': '現在に戻す',
    'as_of.banner': '{when} 時点の状態を表示しています（過去の記録・更新されません）',
    'as_of.invalid': '日付（YYYY-MM-DD）かログ位置（正の整数）を入力してください',
    'board.title': 'パイプライン（カンバン）',
    'board.filter.municipality': '自治体',
    'board.filter.role': '役割カテゴリ',
    'board.filter.all': 'すべて',
    'board.filter.stale': '停滞のみ',
    'board.count': '{n}件',
    'board.total': '案件 {n}件',
    'board.empty_column': '案件なし',
    'board.stale': '停滞',
    'board.on_hold': '保留中',
    'board.no_role': '役割未定',
    'board.openings': '充足 {filled}/{openings}',
    'board.last_activity': '最終更新 {date}',
    'board.candidacies': '候補者 {n}名',
    'board.own_only': '{name} の案件のみ表示しています',
    'stage.consulted': '相談受付',
    'stage.hearing': 'ヒアリング',
    'stage.requirements_defined': '要件定義済',
    'stage.sourcing': '人材探索',
    'stage.filled': '充足',
    'stage.closed': '終了',
    'cstage.identified': '候補',
    'cstage.contacted': '連絡済',
    'cstage.interested': '意向あり',
    'cstage.declined': '辞退',
    'cstage.proposed': '提案中',
    'cstage.accepted': '承認',
    'cstage.rejected': '不採用',
    'cstage.archived': 'アーカイブ',
    'cstage.appointed': '任用',
    'queue.title': '対応待ち',
    'queue.hearings_without_requirements': '要件が未定義のヒアリング',
    'queue.proposals_awaiting_decision': '判断待ちの提案',
    'queue.check_ins_overdue': '期限切れのチェックイン',
    'queue.check_ins_due': '期限が近いチェックイン',
    'queue.appointments_ending': '終了が近い任用',
    'queue.fiscal_year_renewals': '年度末の更新判断',
    'queue.waiting_days': '{n}日待ち',
    'queue.due_on': '期限 {date}',
    'queue.ends_on': '終了 {date}（残り{n}日）',
    'queue.party.talent': '人材',
    'queue.party.municipality': '自治体',
    'queue.today': '基準日 {date}',
    'metrics.title': '指標',
    'metrics.registrants': '登録者',
    'metrics.appointments': '任用',
    'metrics.municipalities_with_appointments': '任用のある自治体',
    'metrics.unit.people': '名',
    'metrics.unit.cases': '件',
    'metrics.unit.municipalities': '自治体',
    'metrics.funnel': 'ファネル（候補者の進み方）',
    'metrics.split': '経路別',
    'metrics.rates': '率',
    'metrics.proposal_acceptance_rate': '提案の承認率',
    'metrics.check_in_completion_rate': 'チェックイン実施率',
    'metrics.early_termination_rate': '早期終了率',
    'metrics.time_to_fill': '充足までの日数',
    'metrics.median': '中央値 {n}日',
    'metrics.p90': '90%点 {n}日',
    'metrics.none': 'データなし',
    'metrics.retained': '定着（任用継続）',
    'funnel.registered': '登録',
    'funnel.identified': '候補化',
    'funnel.contacted': '連絡',
    'funnel.interested': '意向あり',
    'funnel.proposed': '提案',
    'funnel.accepted': '承認',
    'funnel.appointed': '任用',
    'retained.3_months': '3か月',
    'retained.6_months': '6か月',
    'retained.12_months': '12か月',
    'split.direction:need_driven': 'ニーズ起点',
    'split.direction:talent_driven': '人材起点',
    'split.sourcing:scout': 'スカウト',
    'split.sourcing:public_posting': '公募',
    'split.tier:hands_on': '実務型',
    'split.tier:cio_advisor': 'CIO補佐官',
    'coverage.title': '自治体カバレッジ（62区市町村）',
    'coverage.summary': '任用実績 {covered} / {total} 自治体',
    'coverage.region': '{region}：任用実績 {covered} / {total}',
    'coverage.open_needs': '相談中 {n}',
    'coverage.active': '任用中 {n}',
    'coverage.ever': '任用実績あり',
    'coverage.never': '任用実績なし',
    'coverage.legend': '凡例',
    'activity.title': 'ライブ記録（最新の出来事）',
    'activity.empty': '接続後の出来事がここに表示されます',
    'activity.caught_up': '位置 {p} まで受信済み',
    'case.title': '案件',
    'case.summary': '概要',
    'case.corrected': '訂正あり',
    'role.system': 'システム',
    'value.municipality_request': '自治体からの相談',
    'value.talent_driven': '人材起点',
    'value.need_driven': 'ニーズ起点',
    'value.scout': 'スカウト',
    'value.public_posting': '公募',
    'value.talent': '人材',
    'value.municipality': '自治体',
    'value.completed': '満了',
    'value.early': '早期終了',
    'value.renewed': '更新',
    'value.yes': 'はい',
    'value.filled': '充足',
    'value.cancelled': '取りやめ',
    'value.self_hired': '自治体が独自に採用',
    'value.no_match': '該当者なし',
    'value.no': 'いいえ',
    'case.back': 'パイプラインへ戻る',
    'case.department': '担当部署',
    'case.problem': '相談内容',
    'case.stage': '段階',
    'case.requirements': '要件',
    'case.hearings': 'ヒアリング',
    'case.hearing_notes_hidden': 'ヒアリング記録は個人情報を含むため、この役割では表示されません',
    'case.candidacies': '候補者',
    'case.appointments': '任用',
    'case.timeline': '経緯（タイムライン）',
    'case.actor': '実行者',
    'case.on_behalf_of': '代理：{who}',
    'case.not_found': 'この案件は見つからないか、閲覧する権限がありません',
    'case.occurred': '発生',
    'case.recorded': '記録',
    'req.role_category': '役割',
    'req.tier': '区分',
    'req.skills': 'スキル',
    'req.work_forms': '勤務形態',
    'req.hours_per_week': '週あたり時間',
    'req.duration_months': '期間（月）',
    'req.openings': '募集人数',
    'tier.hands_on': '実務型',
    'tier.cio_advisor': 'CIO補佐官',
    'form.onsite': '出勤',
    'form.remote': 'リモート',
    'form.hybrid': 'ハイブリッド',
    'form.spot': 'スポット',
    'audit.title': '監査',
    'audit.verify': 'ハッシュチェーンの検証',
    'audit.verify.run': '再検証',
    'verify.checked': '検証したイベント数',
    'verify.head_position': '最新のログ位置',
    'verify.first_bad_position': '最初の不整合の位置',
    'verify.problem': '問題',
    'audit.verify.ok': '改ざんは検出されませんでした',
    'audit.verify.broken': 'チェーンの不整合を検出しました',
    'audit.as_of_title': '指定時点の状態',
    'audit.as_of_hint': '日付またはログ位置を指定すると、その時点の指標・パイプライン・カバレッジを表示します。',
    'error.network': 'サーバーに接続できません。ネットワークとサーバーの状態を確認してください。',
    'error.401': 'トークンが無効か、取り消されています。もう一度サインインしてください。',
    'error.403': 'この操作・表示を行う権限がありません。',
    'error.404': '見つかりません。',
    'error.429': 'リクエストが多すぎます。しばらく待ってから再試行してください。',
    'error.503': 'サーバーが一時的に利用できません。',
    'error.5xx': 'サーバーでエラーが発生しました。',
    'error.generic': 'エラーが発生しました：{message}',
    'error.ws_forbidden': 'この表示を購読する権限がありません。',
    'event.unknown': '{type}',
    'field.department': '担当部署',
    'field.problem': '相談内容',
    'field.origin': '起点',
    'field.held_on': '実施日',
    'field.findings': '所見',
    'field.notes': '記録',
    'field.attendees': '出席者',
    'field.role_category': '役割',
    'field.tier': '区分',
    'field.skills': 'スキル',
    'field.work_forms': '勤務形態',
    'field.hours_per_week': '週あたり時間',
    'field.duration_months': '期間（月）',
    'field.openings': '募集人数',
    'field.mode': '探索方法',
    'field.url': 'URL',
    'field.closes_on': '締切',
    'field.direction': '方向',
    'field.source': '経路',
    'field.match_score': '適合度',
    'field.accepted': '承認',
    'field.decided_by': '判断者',
    'field.entered_on_behalf': '代理入力',
    'field.form': '勤務形態',
    'field.starts_on': '開始日',
    'field.ends_on': '終了日',
    'field.scope': '業務範囲',
    'field.kind': '種別',
    'field.effective_on': '発効日',
    'field.party': '対象',
    'field.rating': '評価',
    'field.due_on': '期限',
    'field.reason': '理由',
    'field.supersedes': '訂正対象',
  },
  en: {
    'app.title': 'Kakehashi dashboard',
    'app.skip': 'Skip to content',
    'nav.label': 'Views',
    'nav.board': 'Pipeline',
    'nav.queue': 'Work queue',
    'nav.metrics': 'Metrics',
    'nav.coverage': 'Coverage',
    'nav.activity': 'Live log',
    'nav.audit': 'Audit',
    'lang.toggle': '日本語',
    'lang.toggle.label': '日本語に切り替え',
    'signout': 'Sign out',
    'conn.connecting': 'Connecting',
    'conn.open': 'Connected',
    'conn.reconnecting': 'Reconnecting',
    'conn.closed': 'Disconnected',
    'conn.retry_in': 'retry in {s}s',
    'conn.label': 'Live connection state',
    'role.admin': 'Administrator',
    'role.coordinator': 'Coordinator',
    'role.municipality': 'Municipal officer',
    'role.auditor': 'Auditor',
    'role.dashboard': 'Display only',
    'signin.title': 'Sign in',
    'signin.lead': 'Paste the access token you were given. It is forgotten when this tab closes.',
    'signin.token': 'Access token',
    'signin.submit': 'Sign in',
    'signin.checking': 'Checking…',
    'signin.hint': 'Issue a token: kakehashi token issue --data DIR --role coordinator',
    'loading': 'Loading…',
    'empty': 'Nothing to show',
    'retry': 'Reload',
    'live': 'Live',
    'position': 'position',
    'as_of.label': 'As of',
    'as_of.date': 'Date',
    'as_of.position': 'Log position',
    'as_of.apply': 'Apply',
    'as_of.clear': 'Back to now',
    'as_of.banner': 'Showing the state as of {when} (history; not updated live)',
    'as_of.invalid': 'Enter a date (YYYY-MM-DD) or a log position (a positive integer)',
    'board.title': 'Pipeline (kanban)',
    'board.filter.municipality': 'Municipality',
    'board.filter.role': 'Role category',
    'board.filter.all': 'All',
    'board.filter.stale': 'Stale only',
    'board.count': '{n}',
    'board.total': '{n} cases',
    'board.empty_column': 'No cases',
    'board.stale': 'Stale',
    'board.on_hold': 'On hold',
    'board.no_role': 'Role not defined',
    'board.openings': 'Filled {filled}/{openings}',
    'board.last_activity': 'Last activity {date}',
    'board.candidacies': '{n} candidates',
    'board.own_only': 'Showing only the cases of {name}',
    'stage.consulted': 'Consulted',
    'stage.hearing': 'Hearing',
    'stage.requirements_defined': 'Requirements',
    'stage.sourcing': 'Sourcing',
    'stage.filled': 'Filled',
    'stage.closed': 'Closed',
    'cstage.identified': 'Identified',
    'cstage.contacted': 'Contacted',
    'cstage.interested': 'Interested',
    'cstage.declined': 'Declined',
    'cstage.proposed': 'Proposed',
    'cstage.accepted': 'Accepted',
    'cstage.rejected': 'Rejected',
    'cstage.archived': 'Archived',
    'cstage.appointed': 'Appointed',
    'queue.title': 'Work queue',
    'queue.hearings_without_requirements': 'Hearings without requirements',
    'queue.proposals_awaiting_decision': 'Proposals awaiting a decision',
    'queue.check_ins_overdue': 'Overdue check-ins',
    'queue.check_ins_due': 'Check-ins due soon',
    'queue.appointments_ending': 'Appointments ending soon',
    'queue.fiscal_year_renewals': 'Fiscal-year renewals',
    'queue.waiting_days': 'waiting {n} days',
    'queue.due_on': 'due {date}',
    'queue.ends_on': 'ends {date} ({n} days left)',
    'queue.party.talent': 'talent',
    'queue.party.municipality': 'municipality',
    'queue.today': 'as of {date}',
    'metrics.title': 'Metrics',
    'metrics.registrants': 'Registrants',
    'metrics.appointments': 'Appointments',
    'metrics.municipalities_with_appointments': 'Municipalities with appointments',
    'metrics.unit.people': '',
    'metrics.unit.cases': '',
    'metrics.unit.municipalities': '',
    'metrics.funnel': 'Funnel',
    'metrics.split': 'By route',
    'metrics.rates': 'Rates',
    'metrics.proposal_acceptance_rate': 'Proposal acceptance',
    'metrics.check_in_completion_rate': 'Check-in completion',
    'metrics.early_termination_rate': 'Early termination',
    'metrics.time_to_fill': 'Days to fill',
    'metrics.median': 'median {n} d',
    'metrics.p90': 'p90 {n} d',
    'metrics.none': 'no data',
    'metrics.retained': 'Retention',
    'funnel.registered': 'Registered',
    'funnel.identified': 'Identified',
    'funnel.contacted': 'Contacted',
    'funnel.interested': 'Interested',
    'funnel.proposed': 'Proposed',
    'funnel.accepted': 'Accepted',
    'funnel.appointed': 'Appointed',
    'retained.3_months': '3 months',
    'retained.6_months': '6 months',
    'retained.12_months': '12 months',
    'split.direction:need_driven': 'Need-driven',
    'split.direction:talent_driven': 'Talent-driven',
    'split.sourcing:scout': 'Scouting',
    'split.sourcing:public_posting': 'Public posting',
    'split.tier:hands_on': 'Hands-on',
    'split.tier:cio_advisor': 'CIO advisor',
    'coverage.title': 'Coverage of the 62 municipalities',
    'coverage.summary': 'Appointments in {covered} of {total} municipalities',
    'coverage.region': '{region}: {covered} of {total} with appointments',
    'coverage.open_needs': '{n} open',
    'coverage.active': '{n} active',
    'coverage.ever': 'Has had an appointment',
    'coverage.never': 'No appointment yet',
    'coverage.legend': 'Legend',
    'activity.title': 'Live log (latest events)',
    'activity.empty': 'Events appear here once connected',
    'activity.caught_up': 'Received up to position {p}',
    'case.title': 'Case',
    'case.summary': 'Summary',
    'case.corrected': 'corrected',
    'role.system': 'System',
    'value.municipality_request': 'Municipality request',
    'value.talent_driven': 'Talent-driven',
    'value.need_driven': 'Need-driven',
    'value.scout': 'Scouting',
    'value.public_posting': 'Public posting',
    'value.talent': 'Talent',
    'value.municipality': 'Municipality',
    'value.completed': 'Completed',
    'value.early': 'Ended early',
    'value.renewed': 'Renewed',
    'value.yes': 'yes',
    'value.filled': 'filled',
    'value.cancelled': 'cancelled',
    'value.self_hired': 'hired by the municipality',
    'value.no_match': 'no match',
    'value.no': 'no',
    'case.back': 'Back to the pipeline',
    'case.department': 'Department',
    'case.problem': 'Problem',
    'case.stage': 'Stage',
    'case.requirements': 'Requirements',
    'case.hearings': 'Hearings',
    'case.hearing_notes_hidden': 'Hearing notes contain personal data and are not shown to this role',
    'case.candidacies': 'Candidates',
    'case.appointments': 'Appointments',
    'case.timeline': 'Timeline',
    'case.actor': 'Actor',
    'case.on_behalf_of': 'on behalf of {who}',
    'case.not_found': 'This case does not exist or you may not see it',
    'case.occurred': 'occurred',
    'case.recorded': 'recorded',
    'req.role_category': 'Role',
    'req.tier': 'Tier',
    'req.skills': 'Skills',
    'req.work_forms': 'Work forms',
    'req.hours_per_week': 'Hours per week',
    'req.duration_months': 'Duration (months)',
    'req.openings': 'Openings',
    'tier.hands_on': 'Hands-on',
    'tier.cio_advisor': 'CIO advisor',
    'form.onsite': 'On-site',
    'form.remote': 'Remote',
    'form.hybrid': 'Hybrid',
    'form.spot': 'Spot',
    'audit.title': 'Audit',
    'audit.verify': 'Hash-chain verification',
    'audit.verify.run': 'Verify again',
    'verify.checked': 'Events checked',
    'verify.head_position': 'Head position',
    'verify.first_bad_position': 'First bad position',
    'verify.problem': 'Problem',
    'audit.verify.ok': 'No tampering detected',
    'audit.verify.broken': 'The chain is broken',
    'audit.as_of_title': 'State at a point in time',
    'audit.as_of_hint': 'Pick a date or a log position to see the metrics, pipeline and coverage as they were then.',
    'error.network': 'Cannot reach the server. Check the network and that the server is running.',
    'error.401': 'The token is invalid or has been revoked. Please sign in again.',
    'error.403': 'You are not allowed to do or see this.',
    'error.404': 'Not found.',
    'error.429': 'Too many requests. Please wait a moment and retry.',
    'error.503': 'The server is temporarily unavailable.',
    'error.5xx': 'The server had an error.',
    'error.generic': 'Something went wrong: {message}',
    'error.ws_forbidden': 'You are not allowed to follow this view.',
    'event.unknown': '{type}',
    'field.department': 'Department',
    'field.problem': 'Problem',
    'field.origin': 'Origin',
    'field.held_on': 'Held on',
    'field.findings': 'Findings',
    'field.notes': 'Notes',
    'field.attendees': 'Attendees',
    'field.role_category': 'Role',
    'field.tier': 'Tier',
    'field.skills': 'Skills',
    'field.work_forms': 'Work forms',
    'field.hours_per_week': 'Hours/week',
    'field.duration_months': 'Months',
    'field.openings': 'Openings',
    'field.mode': 'Sourcing',
    'field.url': 'URL',
    'field.closes_on': 'Closes on',
    'field.direction': 'Direction',
    'field.source': 'Source',
    'field.match_score': 'Match score',
    'field.accepted': 'Accepted',
    'field.decided_by': 'Decided by',
    'field.entered_on_behalf': 'Entered on behalf',
    'field.form': 'Work form',
    'field.starts_on': 'Starts',
    'field.ends_on': 'Ends',
    'field.scope': 'Scope',
    'field.kind': 'Kind',
    'field.effective_on': 'Effective on',
    'field.party': 'Party',
    'field.rating': 'Rating',
    'field.due_on': 'Due',
    'field.reason': 'Reason',
    'field.supersedes': 'Supersedes',
  },
};

// Event types in words (CloudEvents `type`).
const event_names = {
  TalentRegistered: ['人材登録', 'Talent registered'],
  TalentProfileUpdated: ['プロフィール更新', 'Profile updated'],
  TalentAvailabilityChanged: ['稼働条件の変更', 'Availability changed'],
  TalentConsentGranted: ['同意取得', 'Consent granted'],
  TalentConsentRevoked: ['同意撤回', 'Consent revoked'],
  TalentPaused: ['活動休止', 'Talent paused'],
  TalentResumed: ['活動再開', 'Talent resumed'],
  TalentWithdrew: ['登録辞退', 'Talent withdrew'],
  TalentPersonalDataErased: ['個人情報消去', 'Personal data erased'],
  MunicipalityListed: ['自治体登録', 'Municipality listed'],
  MunicipalityContactAssigned: ['窓口担当の設定', 'Contact assigned'],
  NeedOpened: ['相談受付', 'Need opened'],
  HearingRecorded: ['ヒアリング記録', 'Hearing recorded'],
  HearingNoteCorrected: ['ヒアリング記録の訂正', 'Hearing note corrected'],
  RequirementsDefined: ['要件定義', 'Requirements defined'],
  SourcingModeChosen: ['探索方法の決定', 'Sourcing mode chosen'],
  PublicPostingPublished: ['公募開始', 'Public posting published'],
  NeedPutOnHold: ['保留', 'Need put on hold'],
  NeedResumed: ['保留解除', 'Need resumed'],
  NeedClosed: ['案件終了', 'Need closed'],
  NeedReopened: ['案件再開', 'Need reopened'],
  CandidateIdentified: ['候補者選定', 'Candidate identified'],
  TalentContacted: ['候補者へ連絡', 'Talent contacted'],
  InterestConfirmed: ['意向確認', 'Interest confirmed'],
  InterestDeclined: ['辞退', 'Interest declined'],
  ProposalSubmitted: ['自治体へ提案', 'Proposal submitted'],
  MunicipalDecisionRecorded: ['自治体の判断', 'Municipal decision recorded'],
  CandidacyArchived: ['候補アーカイブ', 'Candidacy archived'],
  AppointmentArranged: ['任用決定', 'Appointment arranged'],
  AppointmentStarted: ['任用開始', 'Appointment started'],
  AppointmentAmended: ['任用条件の変更', 'Appointment amended'],
  AppointmentSuspended: ['任用中断', 'Appointment suspended'],
  AppointmentResumed: ['任用再開', 'Appointment resumed'],
  CheckInScheduled: ['チェックイン予定', 'Check-in scheduled'],
  CheckInCompleted: ['チェックイン実施', 'Check-in completed'],
  CheckInMissed: ['チェックイン未実施', 'Check-in missed'],
  IssueRaised: ['課題の報告', 'Issue raised'],
  IssueResolved: ['課題の解決', 'Issue resolved'],
  AppointmentEnded: ['任用終了', 'Appointment ended'],
  EventVoided: ['記録の取消', 'Entry voided'],
  CandidateAttached: ['候補者を案件に紐付け', 'Candidate attached'],
  OpeningFilled: ['募集枠の充足', 'Opening filled'],
  CandidacyAppointed: ['候補者の任用', 'Candidacy appointed'],
  CandidacyAttachedToNeed: ['発案を案件に紐付け', 'Idea attached to need'],
  AppointmentFlagged: ['任用に要確認の印', 'Appointment flagged'],
  PersonalDataRead: ['個人情報の閲覧記録', 'Personal data read'],
};

let current = localStorage.getItem('kakehashi.lang') === 'en' ? 'en' : 'ja';
const listeners = new Set();

export function lang() {
  return current;
}

export function set_lang(next) {
  current = next === 'en' ? 'en' : 'ja';
  localStorage.setItem('kakehashi.lang', current);
  document.documentElement.lang = current;
  for (const fn of listeners) fn(current);
}

export function on_lang_change(fn) {
  listeners.add(fn);
}

// t('board.count', {n: 3}) -> "3件". Unknown keys show as themselves.
export function t(key, params = {}) {
  const text = strings[current][key] ?? strings.ja[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

export function has(key) {
  return key in strings[current];
}

const subject_kinds = {
  talent: ['人材', 'Talent'], need: ['案件', 'Case'], candidacy: ['候補', 'Candidacy'],
  appointment: ['任用', 'Appointment'], municipality: ['自治体', 'Municipality'],
};
// The aggregate a stream belongs to ("need-0192…" -> 案件).
export function subject_kind(subject) {
  const kind = String(subject ?? '').split('-')[0];
  const names = subject_kinds[kind];
  return names ? names[current === 'en' ? 1 : 0] : kind;
}

export function event_name(type) {
  const names = event_names[type];
  return names ? names[current === 'en' ? 1 : 0] : type;
}

// Reference data: role categories / skills (taxonomy.tsv) and the 62 municipalities.
const taxonomy = new Map();       // "role:engineer" -> {ja, en}
const municipalities = new Map(); // lg_code -> {name_ja, name_en, kind, region}

function parse_tsv(text) {
  const [header, ...rows] = text.trim().split('\n');
  const names = header.split('\t');
  return rows.filter((r) => r.trim()).map((row) => {
    const cells = row.split('\t');
    return Object.fromEntries(names.map((n, i) => [n.trim(), (cells[i] ?? '').trim()]));
  });
}

export async function load_reference_data() {
  const [tax, muni] = await Promise.all([
    fetch('/assets/taxonomy.tsv').then((r) => (r.ok ? r.text() : '')),
    fetch('/assets/municipalities.tsv').then((r) => (r.ok ? r.text() : '')),
  ]);
  if (tax) for (const row of parse_tsv(tax)) taxonomy.set(`${row.kind}:${row.code}`, row);
  if (muni) for (const row of parse_tsv(muni)) municipalities.set(row.lg_code, row);
}

export function category_name(kind, code) {
  if (!code) return '';
  const row = taxonomy.get(`${kind}:${code}`);
  if (!row) return code;
  return current === 'en' ? row.name_en : row.name_ja;
}

export function role_categories() {
  return [...taxonomy.values()].filter((r) => r.kind === 'role').map((r) => r.code);
}

export function municipality(lg_code) {
  return municipalities.get(lg_code);
}

// English names collide (豊島区 and 利島村 are both "Toshima"): a name shared by more than one
// municipality gets its kind, so the English board never shows two different places alike.
const kind_en = { ward: 'ward', city: 'city', town: 'town', village: 'village' };
function english_name(m) {
  let same = 0;
  for (const other of municipalities.values()) if (other.name_en === m.name_en) same++;
  return same > 1 ? `${m.name_en} (${kind_en[m.kind] ?? m.kind})` : m.name_en;
}

export function municipality_name(lg_code, fallback = '') {
  const m = municipalities.get(lg_code);
  if (!m) return fallback || lg_code || '';
  return current === 'en' ? english_name(m) : m.name_ja;
}

export function all_municipalities() {
  return [...municipalities.values()];
}

// The region names are Japanese in the data; English labels for the toggle.
const region_en = { '23区': '23 wards', '多摩': 'Tama', '島しょ': 'Islands' };
export function region_name(region) {
  return current === 'en' ? region_en[region] ?? region : region;
}

export function format_number(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return new Intl.NumberFormat(current === 'en' ? 'en-US' : 'ja-JP').format(n);
}

export function format_percent(ratio) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
  return `${Math.round(ratio * 1000) / 10}%`;
}

// An RFC 3339 time in Tokyo time, or a YYYY-MM-DD date as is.
export function format_time(text) {
  if (!text) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return text;
  return new Intl.DateTimeFormat(current === 'en' ? 'en-GB' : 'ja-JP', {
    timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit',
  }).format(d);
}
