namespace Psyne.Cli.Bench;

/// <summary>A family of measurements under <c>psyne bench &lt;name&gt;</c>.</summary>
public interface IBenchSuite
{
    string Name { get; }

    string Description { get; }

    /// <summary>The cases, each run lazily so the CLI can show progress between them.</summary>
    IEnumerable<Func<IEnumerable<BenchResult>>> Cases(TimeSpan budgetPerMeasurement);
}
