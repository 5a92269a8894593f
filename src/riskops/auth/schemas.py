"""API shapes for key administration."""

from pydantic import BaseModel, ConfigDict, Field

from riskops.auth.roles import Role


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=128)


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    role: Role
    key: str = Field(description="Shown once; only its hash is stored")
