from matinverse.progress import progress_bar


def test_progress_writes_plain_lines_when_stderr_is_not_a_terminal(capsys):
    with progress_bar("training", interval=3600) as progress:
        for done in range(1, 5):
            progress(done, 4)
    lines = capsys.readouterr().err.strip().splitlines()
    # the first call and the last are written; the calls in between fall inside the interval
    assert [line.split(",")[0] for line in lines] == ["training: 1/4", "training: 4/4"]
    assert "elapsed, ETA 0:00:00" in lines[-1]


def test_eta_of_a_resumed_run_counts_only_the_work_done_since_it_started(capsys, monkeypatch):
    clock = iter([0.0, 0.0, 50.0])  # start, first call, second call
    monkeypatch.setattr("matinverse.progress.time.monotonic", lambda: next(clock))
    with progress_bar("training", interval=0) as progress:
        progress(900, 1000)  # resumed 900 steps in
        progress(950, 1000)  # 50 steps in 50 s: 50 left take 50 s
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].endswith("ETA ?")
    assert lines[1] == "training: 950/1000, 0:00:50 elapsed, ETA 0:00:50"
