// Usings shared by every test file of Bulkhead.Commands.Tests.
global using Xunit;
