// Usings shared by every test file of Bulkhead.Servers.Tests.
global using Xunit;
