"""The target column of ``ffbp train``: lives in ``ffbp.tabular.target`` (shared with the
Python API), re-exported here for the subcommands."""

from ..tabular.target import (  # noqa: F401
    check_target,
    decide_task,
    encode_target,
    infer_task,
    merge_target,
    summarize_target,
    summarize_target_values,
)
