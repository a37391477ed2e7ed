"""A remediation target, and its form as rule annotations: both sides of one contract.

The catalogue writes a target into `target_*` annotations; the responder reads it back from
them. Keeping both directions here means the two can never drift apart.
"""

from collections.abc import Mapping
from dataclasses import dataclass

NAMESPACE, DEPLOYMENT, SELECTOR = "target_namespace", "target_deployment", "target_selector"


@dataclass(frozen=True)
class Target:
    """One namespace and one deployment name or label selector."""

    namespace: str
    deployment: str | None = None
    selector: str | None = None

    @property
    def key(self) -> str:
        """What cooldowns and the circuit breaker count by."""
        return f"{self.namespace}/{self.deployment or self.selector}"

    def as_dict(self) -> dict[str, str]:
        out = {"namespace": self.namespace}
        if self.deployment:
            out["deployment"] = self.deployment
        if self.selector:
            out["selector"] = self.selector
        return out

    def annotations(self) -> dict[str, str]:
        return {f"target_{k}": v for k, v in self.as_dict().items()}

    @classmethod
    def from_annotations(cls, annotations: Mapping[str, str]) -> "Target | None":
        namespace = annotations.get(NAMESPACE)
        deployment, selector = annotations.get(DEPLOYMENT), annotations.get(SELECTOR)
        if not namespace or not (deployment or selector):
            return None
        return cls(namespace, deployment, selector)
