//! The QA console in a real browser: Debian's Chromium, headless, driven
//! through chromedriver (W3C WebDriver), against the real server on
//! 127.0.0.1:0 with a real call transcribed by Whisper and scored. Screenshots
//! of each screen are written to target/console-screenshots/ as artefacts.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use callscore::auth::Role;
use callscore::proto::{
    CallMetadata, ChannelLayout, CheckOutcome, GetAgentTrendRequest, GetScorecardRequest,
    ListScorecardsRequest, OverrideCheckRequest, Speaker, TimeRange, TrendBucket,
};
use common::{
    Backend, TestApp, free_port, spawn_app, start_worker, submit_turns, upload_call_bytes,
};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/call-en-stereo-8k.wav");
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(30);

/// chromedriver on a free loopback port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "the browser tests need Debian's chromium and chromium-driver (scripts/setup.sh installs them)"
        );
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless Chromium session at 1280×800, its profile in `profile`.
    async fn session(&self, profile: &std::path::Path) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--mute-audio",
                    "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        // chromedriver needs a moment to listen.
        let mut last_error = None;
        for _ in 0..50 {
            match ClientBuilder::new(connector.clone())
                .capabilities(capabilities.clone())
                .connect(&self.url)
                .await
            {
                Ok(client) => return client,
                Err(error) => {
                    last_error = Some(error);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("no WebDriver session: {last_error:?}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots")
}

/// An empty screenshot folder, so no artefact is left from an earlier run.
fn fresh_screenshot_dir() {
    let dir = screenshot_dir();
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("old screenshots removed");
    }
    std::fs::create_dir_all(&dir).expect("screenshot folder");
}

async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("saved");
}

/// Waits until `script` (a function body returning a value) returns something
/// truthy, and returns it.
async fn until(browser: &Client, what: &str, script: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let value = browser.execute(script, vec![]).await.expect("script runs");
        let truthy = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(_) => true,
        };
        if truthy {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            let text = browser
                .execute("return document.body.innerText", vec![])
                .await
                .unwrap_or_default();
            panic!("timed out waiting for {what}; the page reads: {text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Buttons, links and form fields without an accessible name (a label, its
/// text, aria-label or aria-labelledby): keyboard and screen-reader users
/// could not tell them apart.
async fn unnamed_controls(browser: &Client) -> Value {
    browser
        .execute(
            "return [...document.querySelectorAll('button, a[href], input, select, textarea')]
               .filter(c => c.type !== 'hidden')
               .filter(c => !(c.getAttribute('aria-label') || c.getAttribute('aria-labelledby')
                 || (c.labels && c.labels.length) || c.textContent.trim()))
               .map(c => c.outerHTML.slice(0, 80))",
            vec![],
        )
        .await
        .expect("controls")
}

/// Loads `url` in the browser.
async fn open(browser: &Client, url: &str) {
    browser
        .goto(url)
        .await
        .unwrap_or_else(|error| panic!("loading {url}: {error}"));
}

/// How often an element the page re-rendered between finding and using it
/// (WebDriver's "stale element reference") is found again, 100 ms apart.
const STALE_RETRIES: u32 = 50;

/// What to do with an element.
#[derive(Clone, Copy)]
enum Act<'a> {
    Click,
    Type(&'a str),
}

/// Finds the element `css` and acts on it; an element the page replaced in
/// between (before a click or key reached it) is found again.
async fn act_on(browser: &Client, css: &str, act: Act<'_>) {
    let mut attempt = 0;
    loop {
        let element = browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{css}: {error}"));
        let (result, doing) = match act {
            Act::Click => (element.click().await, "clicking"),
            Act::Type(text) => (element.send_keys(text).await, "typing into"),
        };
        match result {
            Ok(()) => return,
            Err(error) if error.is_stale_element_reference() && attempt < STALE_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("{doing} {css}: {error}"),
        }
    }
}

/// Clicks the element `css` finds.
async fn click(browser: &Client, css: &str) {
    act_on(browser, css, Act::Click).await;
}

/// Types `text` into the field `css` finds.
async fn type_into(browser: &Client, css: &str, text: &str) {
    act_on(browser, css, Act::Type(text)).await;
}

/// Opens the review form of the check `check_li`, picks `outcome`, gives
/// `reason` and saves.
async fn review_check(browser: &Client, check_li: &str, outcome: &str, reason: &str) {
    click(browser, &format!("{check_li} .review-open")).await;
    click(browser, &format!("{check_li} input[value='{outcome}']")).await;
    type_into(
        browser,
        &format!("{check_li} textarea[name='reason']"),
        reason,
    )
    .await;
    click(
        browser,
        &format!("{check_li} form.override button[type='submit']"),
    )
    .await;
}

async fn sign_in(browser: &Client, app: &TestApp, key: &str) {
    open(browser, &format!("http://{}/", app.address)).await;
    // Whoever is signed in in this tab signs out first, as a person would.
    let page = until(
        browser,
        "the sign-in form or the signed-in header",
        "if (document.querySelector('#api-key')) return 'form';
         if (document.querySelector('#sign-out')) return 'signed-in';
         return null;",
    )
    .await;
    if page == "signed-in" {
        click(browser, "#sign-out").await;
        until(
            browser,
            "the sign-in form",
            "return document.querySelector('#api-key') !== null",
        )
        .await;
    }
    type_into(browser, "#api-key", key).await;
    click(browser, "#signin-submit").await;
    until(
        browser,
        "the signed-in header",
        "return document.querySelector('.who') !== null",
    )
    .await;
}

async fn upload_sample(app: &TestApp, ingest: &str) -> String {
    let audio = std::fs::read(SAMPLE).expect("the bundled sample call");
    upload_call_bytes(
        app,
        ingest,
        CallMetadata {
            agent_id: "rina".into(),
            team_id: "care".into(),
            channel_layout: ChannelLayout::StereoAgentLeft as i32,
            ..Default::default()
        },
        &audio,
    )
    .await
}

/// Earlier calls of rina and a teammate, as platforms submit transcripts:
/// three weeks, calls of mixed quality, so the trend has points with bands.
async fn history(app: &TestApp, key: &str) {
    let good = [
        (
            Speaker::Agent,
            "Good morning, thank you for calling Acme, this is Rina. How may I help you?",
        ),
        (Speaker::Customer, "My parcel is late and I am upset."),
        (
            Speaker::Agent,
            "I am so sorry, I understand how frustrating that is. I will call you back tomorrow at ten with the new delivery date.",
        ),
        (Speaker::Customer, "Thank you."),
        (
            Speaker::Agent,
            "Is there anything else I can help with? Thank you for calling Acme, have a nice day.",
        ),
    ];
    let poor = [
        (Speaker::Agent, "Yeah what."),
        (Speaker::Customer, "My parcel is late and I am upset."),
        (
            Speaker::Agent,
            "Not my problem, someone might call you maybe.",
        ),
        (Speaker::Customer, "That is not helpful."),
        (Speaker::Agent, "Whatever."),
    ];
    let week_ms = 7 * 86_400_000_i64;
    let now_ms = callscore::store::now_ms();
    for week in 1..=3_i64 {
        for (index, turns) in [&good[..], &poor[..], &good[..]].into_iter().enumerate() {
            for agent in ["rina", "budi"] {
                if agent == "budi" && index > 0 {
                    continue;
                }
                let started = now_ms - week * week_ms + index as i64 * 3_600_000;
                submit_turns(
                    app,
                    key,
                    CallMetadata {
                        agent_id: agent.into(),
                        team_id: "care".into(),
                        call_started_at: Some(prost_types::Timestamp {
                            seconds: started / 1000,
                            nanos: 0,
                        }),
                        ..Default::default()
                    },
                    turns,
                )
                .await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewer_and_coach_work_in_the_console() {
    let app = spawn_app(Backend::Sqlite).await;
    let worker = start_worker(&app, |_| {}).await;
    let ingest = app.key("acme", Role::Ingest).await;
    let reviewer = app.key("acme", Role::Reviewer).await;
    let coach = app.key("acme", Role::Coach).await;
    let admin = app.key("acme", Role::Admin).await;
    // Every call lands in the review queue.
    common::set_review_sampling(
        &app,
        &admin,
        callscore::proto::ReviewSamplingPolicy {
            random_percent: 100,
            ..Default::default()
        },
        "review_sampling",
    )
    .await;
    history(&app, &admin).await;
    // A platform transcript with its speaker labels swapped.
    let (swapped_call, _) = submit_turns(
        &app,
        &admin,
        CallMetadata {
            agent_id: "rina".into(),
            team_id: "care".into(),
            ..Default::default()
        },
        &[
            (
                Speaker::Customer,
                "Good morning, thank you for calling Acme, my name is Rina. How may I help you?",
            ),
            (Speaker::Agent, "Hi, my parcel is late."),
        ],
    )
    .await;
    // A transcript that tries to be markup.
    let (hostile_call, _) = submit_turns(
        &app,
        &admin,
        CallMetadata {
            agent_id: "mallory".into(),
            ..Default::default()
        },
        &[
            (
                Speaker::Agent,
                "<img src=x onerror=\"window.pwned=1\">Hello <b>there</b>",
            ),
            (
                Speaker::Customer,
                "</script><script>window.pwned=2</script>",
            ),
            (Speaker::Customer, "My card number is 4111 1111 1111 1111."),
        ],
    )
    .await;
    fresh_screenshot_dir();
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("profile");
    let browser = driver.session(profile.path()).await;

    // The page is served with a strict policy, by the server itself.
    let (status, _) = common::http_get(app.address, "/").await;
    assert_eq!(status, 200);

    // A wrong key is refused with a message, and nothing is shown.
    open(&browser, &format!("http://{}/", app.address)).await;
    let field = browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#api-key"))
        .await
        .expect("sign-in form");
    screenshot(&browser, "01-sign-in").await;
    field.send_keys("cs_nope_nope").await.expect("type");
    click(&browser, "#signin-submit").await;
    let refusal = until(
        &browser,
        "the refusal",
        "return document.querySelector('#signin-error').textContent",
    )
    .await;
    assert!(
        refusal.as_str().unwrap_or_default().contains("not valid"),
        "{refusal}"
    );

    // Reviewer: the calls list, kept live by one WatchCalls stream. A call
    // uploaded now is announced, shown, and turns scored without a reload.
    sign_in(&browser, &app, &reviewer).await;
    until(
        &browser,
        "the earlier calls",
        "return document.querySelectorAll('#calls-table tr[data-call-id]').length >= 10",
    )
    .await;
    browser
        .execute("window.sameDocument = true; return true", vec![])
        .await
        .expect("mark the page");
    let call_id = upload_sample(&app, &ingest).await;
    until(
        &browser,
        "the new-call notice",
        "const b = document.querySelector('.notice button'); if (b) { b.click(); return true; } return false",
    )
    .await;
    let row = format!("tr[data-call-id='{call_id}']");
    until(
        &browser,
        "the call turning scored in the list",
        &format!("return document.querySelector(\"{row} .badge.DONE\") !== null && window.sameDocument === true"),
    )
    .await;
    screenshot(&browser, "02-calls").await;
    common::finished_call(&app, &ingest, &call_id).await;
    let card = app
        .scorecards(&reviewer)
        .await
        .list_scorecards(ListScorecardsRequest {
            call_id: call_id.clone(),
            ..Default::default()
        })
        .await
        .expect("scorecards")
        .into_inner()
        .scorecards
        .remove(0);

    // Open it: the scorecard beside the transcript and the recording.
    click(&browser, &format!("{row} a")).await;
    until(
        &browser,
        "the recording",
        "const a = document.querySelector('#call-audio'); return a !== null && a.readyState >= 1",
    )
    .await;
    let segments = until(
        &browser,
        "the transcript",
        "return document.querySelectorAll('#transcript .segment').length",
    )
    .await;
    assert!(segments.as_u64().unwrap_or(0) >= 4, "{segments}");

    browser
        .execute("window.scrollTo(0, 0); return true", vec![])
        .await
        .expect("top");
    screenshot(&browser, "03-scorecard").await;

    // The quote of a failed check (else any quote): clicking it scrolls the
    // transcript to the words, highlights them and plays from there.
    let machine = card.machine_result.as_ref().expect("machine result");
    let quoted = machine
        .criteria
        .iter()
        .flat_map(|c| c.checks.iter().map(move |k| (c, k)))
        .filter(|(_, k)| !k.evidence.is_empty())
        .min_by_key(|(_, k)| k.outcome != CheckOutcome::Fail as i32)
        .expect("a check with evidence");
    let (criterion, check) = quoted;
    let evidence = &check.evidence[0];
    let key = format!("{}/{}#0", criterion.criterion_id, check.check_id);
    // Scroll the transcript away from the quote first, so the test can see it move.
    browser
        .execute(
            "document.querySelector('#transcript').scrollTop = 0; window.scrollTo(0, 0); return true",
            vec![],
        )
        .await
        .expect("scroll");
    click(&browser, &format!("button[data-evidence='{key}']")).await;
    let state = until(
        &browser,
        "playback from the quote",
        "const a = document.querySelector('#call-audio');
         const h = document.querySelector('#transcript .highlight');
         if (!h || a.paused || a.currentTime === 0) return null;
         const box = h.getBoundingClientRect();
         const pane = document.querySelector('#transcript').getBoundingClientRect();
         return { time: a.currentTime, top: box.top, bottom: box.bottom,
                  paneTop: pane.top, paneBottom: pane.bottom,
                  viewport: window.innerHeight,
                  segment: h.closest('.segment').id };",
    )
    .await;
    let played_from = state["time"].as_f64().expect("time");
    let quote_start = evidence.start_ms as f64 / 1000.0;
    assert!(
        played_from >= quote_start - 0.05 && played_from < quote_start + 2.0,
        "playback at {played_from} s, the quote starts at {quote_start} s"
    );
    assert_eq!(
        state["segment"],
        format!("segment-{}", evidence.segment_index),
        "the highlighted words are the quote's turn"
    );
    let (top, bottom) = (
        state["top"].as_f64().unwrap_or(-1.0),
        state["bottom"].as_f64().unwrap_or(-1.0),
    );
    assert!(
        top >= state["paneTop"].as_f64().unwrap_or(0.0) - 1.0
            && bottom <= state["paneBottom"].as_f64().unwrap_or(0.0) + 1.0,
        "the quote is scrolled into the transcript's view: {state}"
    );
    // The quote has a deep link.
    let url = browser.current_url().await.expect("url");
    assert!(
        url.fragment().unwrap_or_default().contains("check="),
        "{url}"
    );
    screenshot(&browser, "04-quote-playing").await;

    // Override the check with a reason; the audit trail shows it, and the
    // machine's answer stays beside the reviewed one.
    let check_li = format!(
        "li[data-check='{}/{}']",
        criterion.criterion_id, check.check_id
    );
    let new_outcome = if check.outcome == CheckOutcome::Fail as i32 {
        "CHECK_OUTCOME_PASS"
    } else {
        "CHECK_OUTCOME_FAIL"
    };
    review_check(
        &browser,
        &check_li,
        new_outcome,
        "Heard the whole call: the agent did this properly",
    )
    .await;
    let audit = until(
        &browser,
        "the audit entry",
        "const e = document.querySelector(\"#audit-events li[data-action='AUDIT_ACTION_CHECK_OVERRIDDEN']\");
         return e ? e.textContent : null",
    )
    .await;
    assert!(
        audit
            .as_str()
            .unwrap_or_default()
            .contains("Heard the whole call"),
        "{audit}"
    );
    let machine_kept = until(
        &browser,
        "the machine's answer beside the review",
        &format!("const r = document.querySelector(\"{check_li} .reviewed\"); return r ? r.textContent : null"),
    )
    .await;
    assert!(
        machine_kept
            .as_str()
            .unwrap_or_default()
            .contains("Machine"),
        "{machine_kept}"
    );
    let stored = app
        .scorecards(&reviewer)
        .await
        .get_scorecard(GetScorecardRequest {
            scorecard_id: card.scorecard_id.clone(),
        })
        .await
        .expect("scorecard")
        .into_inner()
        .scorecard
        .expect("scorecard");
    let reviewed_check = stored
        .reviewed_result
        .as_ref()
        .and_then(|r| {
            r.criteria
                .iter()
                .find(|c| c.criterion_id == criterion.criterion_id)
        })
        .and_then(|c| c.checks.iter().find(|k| k.check_id == check.check_id))
        .expect("the reviewed check");
    assert_eq!(
        CheckOutcome::try_from(reviewed_check.outcome).map(|o| o.as_str_name()),
        Ok(new_outcome)
    );
    screenshot(&browser, "05-review").await;

    // Someone else reviews the same scorecard meanwhile: the console's next
    // edit, made from what it showed, is refused with a clear message.
    app.reviews(&reviewer)
        .await
        .override_check(OverrideCheckRequest {
            scorecard_id: card.scorecard_id.clone(),
            criterion_id: criterion.criterion_id.clone(),
            check_id: check.check_id.clone(),
            new_outcome: CheckOutcome::NotApplicable as i32,
            reason: "a colleague's review".into(),
            ..Default::default()
        })
        .await
        .expect("concurrent review");
    review_check(&browser, &check_li, "CHECK_OUTCOME_FAIL", "second thoughts").await;
    let conflict = until(
        &browser,
        "the concurrent-edit message",
        &format!("const e = document.querySelector(\"{check_li} form.override .error\"); return e ? e.textContent : null"),
    )
    .await;
    assert!(
        conflict
            .as_str()
            .unwrap_or_default()
            .contains("Someone else reviewed"),
        "{conflict}"
    );

    // A call whose speakers look swapped says so above the scorecard.
    open(
        &browser,
        &format!("http://{}/#/calls/{swapped_call}", app.address),
    )
    .await;
    let warning = until(
        &browser,
        "the swapped-speakers warning",
        "const w = document.querySelector('#attribution-warning'); return w ? w.textContent : null",
    )
    .await;
    assert!(
        warning
            .as_str()
            .unwrap_or_default()
            .contains("thank you for calling"),
        "{warning}"
    );

    // Transcript text is text: markup in it is shown, never run.
    open(
        &browser,
        &format!("http://{}/#/calls/{hostile_call}", app.address),
    )
    .await;
    let shown = until(
        &browser,
        "the hostile transcript",
        "const t = document.querySelector('#transcript .segments');
         return t ? t.textContent : null",
    )
    .await;
    assert!(
        shown.as_str().unwrap_or_default().contains("<img src=x"),
        "{shown}"
    );
    let injected = browser
        .execute(
            "return [document.querySelectorAll('#transcript img, #transcript b, #transcript script').length, window.pwned === undefined]",
            vec![],
        )
        .await
        .expect("inspect");
    assert_eq!(injected, json!([0, true]));
    until(
        &browser,
        "the note that a transcript call has no recording",
        "return document.querySelector('#no-audio') !== null",
    )
    .await;
    let redacted = browser
        .execute(
            "return [...document.querySelectorAll('#transcript .redacted')].map(r => r.textContent)",
            vec![],
        )
        .await
        .expect("redacted spans");
    assert_eq!(
        redacted,
        json!(["[CARD]"]),
        "the masked card number is marked as redacted in {shown}"
    );
    assert_eq!(unnamed_controls(&browser).await, json!([]));
    // On a tablet the same screen stacks its panes.
    browser
        .set_window_size(820, 1180)
        .await
        .expect("tablet size");
    open(
        &browser,
        &format!("http://{}/#/scorecards/{}", app.address, card.scorecard_id),
    )
    .await;
    until(
        &browser,
        "the stacked scorecard",
        "const t = document.querySelector('#transcript'), c = document.querySelector('#criteria');
         return t && c && c.getBoundingClientRect().top > t.getBoundingClientRect().bottom - 1",
    )
    .await;
    screenshot(&browser, "06-scorecard-tablet").await;
    browser
        .set_window_size(1280, 800)
        .await
        .expect("desktop size");

    // The review queue: claim a task, open it, mark it done.
    open(&browser, &format!("http://{}/#/queue", app.address)).await;
    let task_id = until(
        &browser,
        "the queue",
        "const r = document.querySelector('#queue-table tr[data-task-id]'); return r ? r.dataset.taskId : null",
    )
    .await;
    let task_id = task_id.as_str().expect("task id").to_string();
    assert_eq!(unnamed_controls(&browser).await, json!([]));
    screenshot(&browser, "09-queue").await;
    click(&browser, &format!("tr[data-task-id='{task_id}'] button")).await;
    until(
        &browser,
        "the claimed task's scorecard",
        "return location.hash.startsWith('#/scorecards/') && document.querySelector('#criteria .check') !== null",
    )
    .await;
    open(&browser, &format!("http://{}/#/queue?mine=1", app.address)).await;
    until(
        &browser,
        "the task in my queue",
        &format!("const b = document.querySelector(\"tr[data-task-id='{task_id}'] button\"); if (b) {{ b.click(); return true; }} return false"),
    )
    .await;
    until(
        &browser,
        "the task done",
        &format!("return document.querySelector(\"tr[data-task-id='{task_id}']\") === null"),
    )
    .await;
    let done = app
        .reviews(&reviewer)
        .await
        .list_review_tasks(callscore::proto::ListReviewTasksRequest {
            state: callscore::proto::ReviewTaskState::Done as i32,
            ..Default::default()
        })
        .await
        .expect("tasks")
        .into_inner()
        .tasks;
    assert!(done.iter().any(|task| task.task_id == task_id));

    // An admin compares rubric versions, finds a draft's error at its line,
    // publishes a new version and makes it the default.
    sign_in(&browser, &app, &admin).await;
    open(&browser, &format!("http://{}/#/rubrics", app.address)).await;
    until(
        &browser,
        "the rubric draft",
        "const d = document.querySelector('#rubric-draft'); return d && d.value.length > 100",
    )
    .await;
    browser
        .execute(
            "const d = document.querySelector('#rubric-draft');
             d.value = d.value.replace(/^id: .*$/m, 'id: console-test').replace(/^version: .*$/m, 'version: 1').replace(/weight: [0-9.]+/, 'weight: heavy');
             return true",
            vec![],
        )
        .await
        .expect("edit the draft");
    click(&browser, "#rubric-validate").await;
    let error = until(
        &browser,
        "the draft's error",
        "const b = document.querySelector('#rubric-errors .errors li'); return b ? b.textContent : null",
    )
    .await;
    assert!(
        error.as_str().unwrap_or_default().starts_with("Line "),
        "{error}"
    );
    screenshot(&browser, "10-rubric-error").await;
    browser
        .execute(
            "document.querySelector('#rubric-errors .errors button').click();
             const d = document.querySelector('#rubric-draft');
             const line = d.value.slice(0, d.selectionStart).split('\\n').pop() + d.value.slice(d.selectionStart).split('\\n')[0];
             return line",
            vec![],
        )
        .await
        .map(|line| assert!(line.as_str().unwrap_or_default().contains("heavy"), "the cursor is on the bad line: {line}"))
        .expect("jump to the error");
    browser
        .execute(
            "const d = document.querySelector('#rubric-draft'); d.value = d.value.replace('weight: heavy', 'weight: 25'); return true",
            vec![],
        )
        .await
        .expect("fix the draft");
    click(&browser, "#rubric-publish").await;
    until(
        &browser,
        "the published rubric",
        "return location.hash.includes('rubric=console-test') && document.querySelector('#rubrics-table') !== null",
    )
    .await;
    until(
        &browser,
        "the make-default button",
        "const rows = [...document.querySelectorAll('#rubrics-table tbody tr')];
         const row = rows.find(r => r.textContent.includes('console-test'));
         const b = row && row.querySelector('button');
         if (b) { b.click(); return true; } return false",
    )
    .await;
    until(
        &browser,
        "the new default",
        "const rows = [...document.querySelectorAll('#rubrics-table tbody tr')];
         const row = rows.find(r => r.textContent.includes('console-test'));
         return row && row.textContent.includes('Default')",
    )
    .await;
    let rubrics = app
        .rubrics(Some(&admin))
        .await
        .list_rubrics(callscore::proto::ListRubricsRequest::default())
        .await
        .expect("rubrics")
        .into_inner()
        .rubrics;
    assert!(
        rubrics
            .iter()
            .any(|r| r.rubric_id == "console-test" && r.is_default),
        "{rubrics:?}"
    );
    screenshot(&browser, "11-rubrics").await;

    // A coach sees no review controls on the same scorecard.
    sign_in(&browser, &app, &coach).await;
    open(
        &browser,
        &format!("http://{}/#/scorecards/{}", app.address, card.scorecard_id),
    )
    .await;
    until(
        &browser,
        "the criteria",
        "return document.querySelectorAll('#criteria .check').length",
    )
    .await;
    let controls = browser
        .execute(
            "return document.querySelectorAll('.review-open, #audit-events').length",
            vec![],
        )
        .await
        .expect("count");
    assert_eq!(controls, json!(0), "a coach key sees no review controls");

    // The coach's trend: the chart's points are GetAgentTrend's.
    let from = "2000-01-01";
    let to = "2100-01-01";
    open(
        &browser,
        &format!(
            "http://{}/#/coaching?agent=rina&from={from}&to={to}&bucket=TREND_BUCKET_WEEK",
            app.address
        ),
    )
    .await;
    let points = until(
        &browser,
        "the trend chart",
        "return [...document.querySelectorAll('#trend-chart g.point')].map(p => ({
           at: Number(p.dataset.bucketMs), mean: Number(p.dataset.mean),
           low: Number(p.dataset.low), high: Number(p.dataset.high), count: Number(p.dataset.count) }))",
    )
    .await;
    let day_ms = |date: &str| {
        let days = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .expect("date")
            .signed_duration_since(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
            .num_days();
        prost_types::Timestamp {
            seconds: days * 86_400,
            nanos: 0,
        }
    };
    let trend = app
        .insights(&coach)
        .await
        .get_agent_trend(GetAgentTrendRequest {
            agent_id: "rina".into(),
            range: Some(TimeRange {
                start: Some(day_ms(from)),
                end: Some(day_ms(to)),
            }),
            bucket: TrendBucket::Week as i32,
        })
        .await
        .expect("trend")
        .into_inner();
    let expected: Vec<(i64, f64, f64, f64, u64)> = trend
        .points
        .iter()
        .filter_map(|p| {
            let overall = p.overall.as_ref()?;
            Some((
                p.bucket_start.as_ref().map_or(0, |t| t.seconds * 1000),
                overall.mean,
                overall.ci95_low,
                overall.ci95_high,
                u64::from(overall.call_count),
            ))
        })
        .filter(|p| p.4 > 0)
        .collect();
    let shown: Vec<(i64, f64, f64, f64, u64)> = points
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            (
                p["at"].as_i64().unwrap_or_default(),
                p["mean"].as_f64().unwrap_or_default(),
                p["low"].as_f64().unwrap_or_default(),
                p["high"].as_f64().unwrap_or_default(),
                p["count"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(shown.len(), expected.len(), "{shown:?} vs {expected:?}");
    assert!(
        shown.len() >= 4,
        "three weeks of history and today: {shown:?}"
    );
    assert!(
        shown.iter().any(|p| p.4 >= 2 && p.3 - p.2 > 1.0),
        "some week has a confidence band: {shown:?}"
    );
    for (seen, wanted) in shown.iter().zip(&expected) {
        assert_eq!(seen.0, wanted.0, "bucket start");
        assert!(
            (seen.1 - wanted.1).abs() < 0.006,
            "mean {seen:?} vs {wanted:?}"
        );
        assert!(
            (seen.2 - wanted.2).abs() < 0.006,
            "band low {seen:?} vs {wanted:?}"
        );
        assert!(
            (seen.3 - wanted.3).abs() < 0.006,
            "band high {seen:?} vs {wanted:?}"
        );
        assert_eq!(seen.4, wanted.4, "call count");
    }
    until(
        &browser,
        "the team comparison",
        "return document.querySelector('#team-table tr.me') !== null",
    )
    .await;
    assert_eq!(unnamed_controls(&browser).await, json!([]));
    type_into(
        &browser,
        "#note-text",
        "Great recovery on the delayed parcel calls",
    )
    .await;
    click(&browser, ".note-form button[type='submit']").await;
    until(
        &browser,
        "the coaching note",
        "return [...document.querySelectorAll('.notes li')].some(n => n.textContent.includes('Great recovery'))",
    )
    .await;
    screenshot(&browser, "07-coaching").await;

    // Every interface text exists in both languages.
    let missing = browser
        .execute(
            "return import('/console/js/i18n.js').then(m => m.missingTranslations())",
            vec![],
        )
        .await
        .expect("translations");
    assert_eq!(missing, json!([]));

    // Indonesian interface text.
    browser
        .execute(
            "localStorage.setItem('callscore.language', 'id'); location.reload(); return true",
            vec![],
        )
        .await
        .expect("switch language");
    until(
        &browser,
        "the Indonesian navigation",
        "return [...document.querySelectorAll('.top nav a')].some(a => a.textContent === 'Panggilan')",
    )
    .await;
    screenshot(&browser, "08-coaching-id").await;

    browser.close().await.expect("session closes");
    worker.stop().await;
    app.stop().await;
}
