from matinverse.progress import progress_bar


def test_progress_writes_plain_lines_when_stderr_is_not_a_terminal(capsys):
    with progress_bar("training", interval=3600) as progress:
        for done in range(1, 5):
            progress(done, 4)
    lines = capsys.readouterr().err.strip().splitlines()
    # the first call and the last are written; the calls in between fall inside the interval
    assert [line.split(",")[0] for line in lines] == ["training: 1/4", "training: 4/4"]
    assert "elapsed, ETA 0:00:00" in lines[-1]
