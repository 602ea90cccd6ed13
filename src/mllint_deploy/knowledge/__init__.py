"""Library knowledge (`rules/knowledge/*.yaml`) as typed concepts; see concepts.py."""

from mllint_deploy.knowledge.concepts import Concept, Knowledge, knowledge

__all__ = ["Concept", "Knowledge", "knowledge"]
