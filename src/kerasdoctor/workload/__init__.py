"""The user's training setup: model builder, data and fit settings, loaded safely."""

from kerasdoctor.workload.data import Data
from kerasdoctor.workload.loader import Workload, load_workload

__all__ = ["Data", "Workload", "load_workload"]
