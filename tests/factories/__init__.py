"""Builders the tests share: synthetic play-by-play with the real schema (`pbp`), score-table and
scored warehouses (`boards`), a play_predictions league with known truth (`league`) and a
trained, scored league for the CLI and fault tests (`trained`)."""
